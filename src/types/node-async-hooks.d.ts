// The part of node:async_hooks the Workers runtime provides under nodejs_compat that Nudge uses.
declare module "node:async_hooks" {
  export class AsyncLocalStorage<T> {
    run<R>(store: T, fn: () => R): R;
    getStore(): T | undefined;
  }
}
