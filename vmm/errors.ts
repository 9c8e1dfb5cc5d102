/**
 * Errors a user can cause and fix: a bad image, option, configuration or disk.
 * The command line prints their message as one line and exits with status 2;
 * anything else is a bug in belowzero and keeps its stack trace.
 */

/** An error caused by the user's input, reported as one clear line. */
export class UserError extends Error {
  /** Creates an error whose message names the problem. */
  constructor(message: string) {
    super(message);
    this.name = "UserError";
  }
}
