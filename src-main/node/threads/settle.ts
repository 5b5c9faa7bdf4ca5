// A request to a worker thread settles once, by its reply or by the thread's end: either way its
// bookkeeping (an abort listener, the pending entry, the worker's ref) is undone first.
export interface Settlers<T, E> {
  resolve(value: T): void;
  reject(error: E): void;
}

export function settlingWith<T, E>(settlers: Settlers<T, E>, cleanUp: () => void): Settlers<T, E> {
  return {
    resolve: (value) => {
      cleanUp();
      settlers.resolve(value);
    },
    reject: (error) => {
      cleanUp();
      settlers.reject(error);
    },
  };
}
