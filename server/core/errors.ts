// The one catalogue of errors with stable codes; each transport translates them its own way.

const MAX_MESSAGE_CHARS = 500;

/** An error a client caused or should see; `status` is the HTTP status Moonraker would use. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** Set only where JSON-RPC must not use Moonraker's default mapping of `status`. */
    readonly rpcCode?: number,
  ) {
    // A message quotes what the client sent; a 1 MB name must not come back as a 1 MB error.
    super(
      message.length > MAX_MESSAGE_CHARS
        ? `${message.slice(0, MAX_MESSAGE_CHARS)}… (${message.length} characters)`
        : message,
    );
    this.name = 'ApiError';
  }

  /** Moonraker's JSON-RPC mapping: 404 → -32601, 401 → -32602, other codes pass through. */
  get jsonRpcCode(): number {
    if (this.rpcCode !== undefined) return this.rpcCode;
    if (this.status === 404) return -32601;
    if (this.status === 401) return -32602;
    return this.status;
  }
}

export const RPC_PARSE_ERROR = -32700;
export const RPC_INVALID_REQUEST = -32600;
export const RPC_METHOD_NOT_FOUND = -32601;
export const RPC_INVALID_PARAMS = -32602;

export const errors = {
  notFound: (what: string) => new ApiError(404, what),
  methodNotFound: (method: string) => new ApiError(404, `Method not found: ${method}`, RPC_METHOD_NOT_FOUND),
  /**
   * Moonraker raises a plain 400 for a bad argument, so JSON-RPC carries code 400 too; Fluidd toasts
   * 4xx codes and would stay silent on -32602 (src/store/socket/actions.ts onSocketError).
   */
  invalidParam: (name: string, problem: string) =>
    new ApiError(400, `Invalid argument '${name}': ${problem}`),
  /** Moonraker's own words (common.py WebRequest._get_converted_arg). */
  missingParam: (name: string) => new ApiError(400, `No data for argument: ${name}`),
  badRequest: (message: string) => new ApiError(400, message),
  unauthorized: () => new ApiError(401, 'Unauthorized'),
  forbidden: (message: string) => new ApiError(403, message),
  conflict: (message: string) => new ApiError(409, message),
  payloadTooLarge: (message: string) => new ApiError(413, message),
  /** A well-formed request whose content is refused, e.g. an upload failing its checksum. */
  unprocessable: (message: string) => new ApiError(422, message),
  /** The disk (or quota) is full; nothing was stored. */
  insufficientStorage: (message: string) => new ApiError(507, message),
  unavailable: (message: string) => new ApiError(503, message),
  namespaceNotFound: (namespace: string) => new ApiError(404, `Namespace '${namespace}' not found`),
  keyNotFound: (key: string, namespace: string) =>
    new ApiError(404, `Key '${key}' in namespace '${namespace}' not found`),
};

/** One config problem; `line` and `column` (from 1) point into the file where they are known. */
export interface ConfigProblem {
  message: string;
  line?: number;
  column?: number;
}

/** Config problems; the daemon refuses to start and prints `message` as it is. */
export class ConfigError extends Error {
  /** The messages alone, one per problem. */
  readonly problems: string[];
  /** The same problems with where in the file each one is, for the config editor. */
  readonly located: ConfigProblem[];

  constructor(problems: readonly (string | ConfigProblem)[]) {
    const located = problems.map((p) => (typeof p === 'string' ? { message: p } : p));
    super(located.map((p) => p.message).join('\n'));
    this.name = 'ConfigError';
    this.located = located;
    this.problems = located.map((p) => p.message);
  }
}

/** A core component failed to start; the daemon stops and says which one and why. */
export class StartupError extends Error {
  constructor(
    readonly component: string,
    readonly reason: string,
  ) {
    super(`component "${component}" failed to start: ${reason}`);
    this.name = 'StartupError';
  }
}

export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
