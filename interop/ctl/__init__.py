"""``rabbitmqctl`` against the reference RabbitMQ and ``amqpbroker ctl`` against amqpbroker,
the same steps (``steps.py``): the capture of the reference's outputs into the tests' fixture
(``capture.py``) and the comparison (``test_ctl_interop.py``)."""
