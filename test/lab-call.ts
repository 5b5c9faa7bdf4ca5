// Calling a lab's LabApi handlers as a carrier does (validated params and results), in-process.
import { createDispatcher } from '../src-main/node/lab/dispatch.js';
import type { LabService } from '../src-main/node/lab/service.js';

/** `call(method, params)` resolves with the result, or rejects with "code: message". */
export function labCaller(lab: LabService): <T>(method: string, params: unknown) => Promise<T> {
  const dispatch = createDispatcher(lab.handlers(), () => {});
  return async <T>(method: string, params: unknown): Promise<T> => {
    const response = await dispatch({ id: 1, method, params });
    if (!response.ok) throw new Error(`${response.error.code}: ${response.error.message}`);
    return response.result as T;
  };
}
