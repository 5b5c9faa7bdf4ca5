// A LabApi result that a worker thread has already validated against its method's result schema
// and encoded as UTF-8 JSON bytes (transferred, not copied): the serving thread forwards the bytes
// as they are, instead of receiving megabytes as objects, validating them number by number,
// stringifying them again and encoding the string for the socket (0.4-0.6 s for the Latents data
// at 100k signatures, when the worker still sent a string).
import type { CallContext, MethodName, ResultOf, ValidParamsOf } from '../../shared/api/methods.js';

export class SerializedResult<M extends MethodName = MethodName> {
  constructor(
    readonly method: M,
    /** `JSON.stringify` of the validated result, UTF-8. */
    readonly bytes: Uint8Array,
  ) {}

  /** The result as objects, for in-process callers (tests, scripts); a carrier sends `bytes`. */
  value(): ResultOf<M> {
    return JSON.parse(new TextDecoder().decode(this.bytes)) as ResultOf<M>;
  }
}

/** The lab's handler table: each method answers with its result, or with that result already serialized by a worker. */
export type ServedHandlers = {
  [M in MethodName]: (
    params: ValidParamsOf<M>,
    context: CallContext,
  ) => Promise<ResultOf<M> | SerializedResult<M>> | ResultOf<M> | SerializedResult<M>;
};

/** What an in-process caller of a handler wants: the result as objects. */
export async function resultValue<M extends MethodName>(
  answer: Promise<ResultOf<M> | SerializedResult<M>> | ResultOf<M> | SerializedResult<M>,
): Promise<ResultOf<M>> {
  const settled = await answer;
  return settled instanceof SerializedResult ? settled.value() : settled;
}
