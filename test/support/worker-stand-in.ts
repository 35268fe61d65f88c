import { randomUUID } from "node:crypto";
import Module from "node:module";
import { pathToFileURL } from "node:url";
import type {
  CoreInvocationContext,
  FunctionMetadata,
  ProgrammingModel,
  RpcLogEntry,
  WorkerMessage,
  ParentMessage,
} from "./worker-rpc.js";

/**
 * A stand-in for the Azure Functions Node.js worker, run as a child process: it provides the
 * built-in `@azure/functions-core` module the way the worker does (by intercepting `require`, see
 * azure-functions-nodejs-worker `setupCoreModule`), imports the app's `main`, and then runs
 * invocations sent over IPC through the library's own invocation model, in the worker's order:
 * getInvocationModel -> getArguments -> preInvocation hooks -> invokeFunction -> postInvocation
 * hooks -> getResponse. Usage: node worker-stand-in.js <main>
 */

type HookCallback = (context: Record<string, unknown>) => unknown;

class Disposable {
  readonly #dispose: () => void;
  constructor(dispose: () => void) {
    this.#dispose = dispose;
  }
  static from(...items: { dispose: () => unknown }[]): Disposable {
    return new Disposable(() => items.forEach((i) => i.dispose()));
  }
  dispose(): void {
    this.#dispose();
  }
}

const functions = new Map<
  string,
  { metadata: FunctionMetadata; functionId: string; callback: (...args: unknown[]) => unknown }
>();
const hooks = new Map<string, HookCallback[]>();
const systemLogs: RpcLogEntry[] = [];
const appHookData: Record<string, unknown> = {};
let programmingModel: ProgrammingModel | undefined;
let loaded = false;

const coreApi = {
  version: "3.10.1",
  hostVersion: "4.1040.0",
  Disposable,
  setProgrammingModel(model: ProgrammingModel): void {
    programmingModel = model;
  },
  getProgrammingModel(): ProgrammingModel | undefined {
    return programmingModel;
  },
  registerFunction(metadata: FunctionMetadata, callback: (...args: unknown[]) => unknown): Disposable {
    // Like the worker: only while the app loads, and names are unique.
    if (loaded) throw new Error("A function can only be registered during app startup.");
    if (functions.has(metadata.name)) throw new Error(`Duplicate function name "${metadata.name}".`);
    functions.set(metadata.name, { metadata, functionId: metadata.functionId ?? randomUUID(), callback });
    return new Disposable(() => functions.delete(metadata.name));
  },
  registerHook(name: string, callback: HookCallback): Disposable {
    const list = hooks.get(name) ?? [];
    list.push(callback);
    hooks.set(name, list);
    return new Disposable(() => list.splice(list.indexOf(callback), 1));
  },
  log(level: string, category: string, message: string): void {
    systemLogs.push({ level, category, message });
  },
};

const proto = Module.prototype as unknown as { require: (id: string) => unknown };
proto.require = new Proxy(proto.require, {
  apply(target, thisArg, args: [string]) {
    return args[0] === "@azure/functions-core" ? coreApi : Reflect.apply(target, thisArg, args);
  },
});

async function runHooks(name: string, context: Record<string, unknown>): Promise<void> {
  for (const hook of hooks.get(name) ?? []) await hook({ hookData: {}, appHookData, ...context });
}

async function invoke(message: Extract<ParentMessage, { type: "invoke" }>): Promise<WorkerMessage> {
  const fn = functions.get(message.functionName);
  if (fn === undefined || programmingModel === undefined) {
    return { type: "result", id: message.id, error: `no function ${message.functionName}`, logs: [] };
  }
  const invocationId = randomUUID();
  const logs: RpcLogEntry[] = [];
  let answered = false;
  const coreCtx: CoreInvocationContext = {
    invocationId,
    request: {
      invocationId,
      functionId: fn.functionId,
      inputData: message.inputData,
      triggerMetadata: message.triggerMetadata ?? {},
    },
    metadata: { ...fn.metadata, functionId: fn.functionId },
    state: undefined,
    log(level, category, text) {
      logs.push({ level, category, message: text, invocationId, afterResponse: answered });
    },
  };
  try {
    const model = await programmingModel.getInvocationModel(coreCtx);
    const { context, inputs } = await model.getArguments();
    coreCtx.state = "preInvocationHooks";
    await runHooks("preInvocation", { invocationContext: context, inputs, functionCallback: fn.callback });
    coreCtx.state = "invocation";
    let result: unknown;
    let error: unknown;
    try {
      result = await model.invokeFunction(context, inputs, fn.callback);
    } catch (e) {
      error = e;
    }
    coreCtx.state = "postInvocationHooks";
    const post = { invocationContext: context, inputs, result, error };
    await runHooks("postInvocation", post);
    coreCtx.state = undefined;
    if (post.error !== undefined)
      throw post.error instanceof Error ? post.error : new Error("a non-Error was thrown");
    const response = await model.getResponse(context, post.result);
    answered = true;
    return { type: "result", id: message.id, invocationId, response, logs: [...logs] };
  } catch (error) {
    answered = true;
    return {
      type: "result",
      id: message.id,
      invocationId,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      logs: [...logs],
    };
  }
}

async function start(main: string): Promise<void> {
  await import(pathToFileURL(main).href);
  loaded = true;
  await programmingModel?.getCapabilities?.({});
  const ready: WorkerMessage = {
    type: "ready",
    programmingModel:
      programmingModel === undefined
        ? null
        : { name: programmingModel.name, version: programmingModel.version },
    functions: [...functions.values()].map((f) => f.metadata),
    hooks: [...hooks.keys()],
    systemLogs: [...systemLogs],
  };
  process.on("message", (message: ParentMessage) => {
    if (message.type === "invoke") void invoke(message).then((reply) => process.send?.(reply));
    else process.exit(0);
  });
  process.send?.(ready);
}

// `node --test dist/test/` runs every file, this one too: without a main it does nothing.
const [main] = process.argv.slice(2);
if (main !== undefined) await start(main);
