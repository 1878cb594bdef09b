// Navigation shared by the pages: go somewhere, render the current page again, and timers
// (live refresh) that stop when the page changes.
const timers: number[] = [];
let rerender: () => void = () => {};

export const go = (path: string) => {
  location.hash = `#${path}`;
};

/** Renders the current page again (after a change it made). */
export const reload = () => rerender();

export function every(ms: number, fn: () => void) {
  timers.push(window.setInterval(fn, ms));
}

export function stopTimers() {
  for (const t of timers.splice(0)) {
    window.clearInterval(t);
  }
}

export function onReload(fn: () => void) {
  rerender = fn;
}
