// What pages ask of the shell (main.js) without importing it: refresh the page now.

let refresher = async () => {};

export function setRefresher(fn) { refresher = fn; }

/** Fetch the current page's data again (after an action). */
export function refreshNow() { return refresher(); }
