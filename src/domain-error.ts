/**
 * A refusal or failure the domain expects, named by a stable short code. The domain never knows
 * HTTP: `src/http/errors.ts` alone turns each code into an answer and an audit outcome. The
 * message is the code unless a subclass gives safe words of its own: never a value, a token or
 * upstream text.
 */
export abstract class DomainError<Code extends string = string> extends Error {
  constructor(
    readonly code: Code,
    message: string = code,
  ) {
    super(message);
  }
}
