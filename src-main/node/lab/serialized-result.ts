// A LabApi result that a worker thread has already validated against its method's result schema
// and turned into JSON text: the serving thread forwards the text as it is, instead of receiving
// megabytes as objects, validating them number by number and stringifying them again.
import type { CallContext, MethodName, ResultOf, ValidParamsOf } from '../../shared/api/methods.js';

export class SerializedResult<M extends MethodName = MethodName> {
  constructor(
    readonly method: M,
    /** `JSON.stringify` of the validated result. */
    readonly json: string,
  ) {}

  /** The result as objects, for in-process callers (tests, scripts); a carrier sends `json`. */
  value(): ResultOf<M> {
    return JSON.parse(this.json) as ResultOf<M>;
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
