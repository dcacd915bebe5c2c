"""Runtime parameters, global parameters, policies and operator policies (RabbitMQ 3.10.8's).

Pure and synchronous (no I/O): ``model.py`` is the policy record, its validation and the
choice of the policy that applies to an object; ``parameters.py`` the journalled store the
management API, definitions and storage share; ``components.py`` which parameter
components are accepted; ``definition_keys.py`` the policy keys; ``terms.py`` Erlang's
printing of values in RabbitMQ's texts.
"""
