/**
 * The RPC shapes the Functions host and worker exchange, as declared by `@azure/functions-core`
 * (azure-functions-nodejs-library `types-core/index.d.ts`): only the parts these tests use.
 */

export interface RpcBindingInfo {
  type?: string | null;
  direction?: "in" | "out" | "inout" | null;
  [property: string]: unknown;
}

export interface FunctionMetadata {
  name: string;
  functionId?: string;
  bindings: Record<string, RpcBindingInfo>;
  retryOptions?: unknown;
}

export interface RpcHttpData {
  method?: string | null;
  url?: string | null;
  headers?: Record<string, string> | null;
  body?: RpcTypedData | null;
  params?: Record<string, string> | null;
  statusCode?: string | null;
  query?: Record<string, string> | null;
  enableContentNegotiation?: boolean | null;
  cookies?: unknown[] | null;
}

export interface RpcTypedData {
  string?: string | null;
  json?: string | null;
  bytes?: Uint8Array | null;
  http?: RpcHttpData | null;
}

export interface RpcParameterBinding {
  name?: string | null;
  data?: RpcTypedData | null;
}

export interface RpcInvocationResponse {
  invocationId?: string | null;
  outputData?: RpcParameterBinding[] | null;
  returnValue?: RpcTypedData | null;
}

export interface RpcLogEntry {
  level: string;
  category: string;
  message: string;
  invocationId?: string;
  /** Written after the invocation's response was made (the host ignores those). */
  afterResponse?: boolean;
}

export interface CoreInvocationContext {
  invocationId: string;
  request: {
    invocationId: string;
    functionId: string;
    inputData: RpcParameterBinding[];
    triggerMetadata: Record<string, RpcTypedData>;
  };
  metadata: FunctionMetadata;
  state?: "preInvocationHooks" | "postInvocationHooks" | "invocation" | undefined;
  log(level: string, category: string, message: string): void;
}

export interface InvocationModel {
  getArguments(): Promise<{ context: unknown; inputs: unknown[] }>;
  invokeFunction(
    context: unknown,
    inputs: unknown[],
    callback: (...args: unknown[]) => unknown,
  ): Promise<unknown>;
  getResponse(context: unknown, result: unknown): Promise<RpcInvocationResponse>;
}

export interface ProgrammingModel {
  name: string;
  version: string;
  getInvocationModel(coreCtx: CoreInvocationContext): InvocationModel | Promise<InvocationModel>;
  getCapabilities?(capabilities: Record<string, string>): unknown;
}

export type WorkerMessage =
  | {
      type: "ready";
      programmingModel: { name: string; version: string } | null;
      functions: FunctionMetadata[];
      hooks: string[];
      systemLogs: RpcLogEntry[];
    }
  | {
      type: "result";
      id: number;
      invocationId?: string;
      response?: RpcInvocationResponse;
      error?: string;
      logs: RpcLogEntry[];
    };

export type ParentMessage =
  | {
      type: "invoke";
      id: number;
      functionName: string;
      inputData: RpcParameterBinding[];
      triggerMetadata?: Record<string, RpcTypedData>;
    }
  | { type: "exit" };
