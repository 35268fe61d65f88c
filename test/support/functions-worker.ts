import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type {
  FunctionMetadata,
  ParentMessage,
  RpcHttpData,
  RpcInvocationResponse,
  RpcLogEntry,
  WorkerMessage,
} from "./worker-rpc.js";

/** The app's package.json `main`, run by the worker stand-in (worker-stand-in.ts) in a child process. */

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
export const STAND_IN = path.join(path.dirname(fileURLToPath(import.meta.url)), "worker-stand-in.js");
export const MAIN = path.join(
  ROOT,
  (JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { main: string }).main,
);

export interface Invocation {
  invocationId: string | undefined;
  response: RpcInvocationResponse | undefined;
  error: string | undefined;
  /** What the invocation wrote through its InvocationContext (RpcLog: level, category, invocation id). */
  logs: RpcLogEntry[];
}

export interface HttpInvocation extends Invocation {
  http: RpcHttpData;
  status: number;
  headers: Record<string, string>;
  text: string;
}

export interface StandInWorker {
  programmingModel: { name: string; version: string } | null;
  functions: FunctionMetadata[];
  systemLogs: RpcLogEntry[];
  /** An HTTP invocation as the host sends it: RPC http data in, the RPC http response out. */
  http(functionName: string, request: RpcHttpData): Promise<HttpInvocation>;
  /** A timer invocation with the host's PascalCase timer payload. */
  timer(functionName: string, isPastDue?: boolean): Promise<Invocation>;
  /** Resolves when the worker process ends by itself (or by close). */
  exited: Promise<{ code: number | null; stdout: string; stderr: string }>;
  /** Stops the worker; resolves with everything it wrote to raw stdout and stderr. */
  close(): Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/** The trigger binding (direction `in`, a `*Trigger` type) of one function's metadata. */
export function triggerOf(metadata: FunctionMetadata): { name: string; binding: Record<string, unknown> } {
  const found = Object.entries(metadata.bindings).find(
    ([, b]) => b.direction === "in" && (b.type ?? "").toLowerCase().endsWith("trigger"),
  );
  if (found === undefined) throw new Error(`${metadata.name} has no trigger binding`);
  return { name: found[0], binding: found[1] };
}

export async function startStandInWorker(env: Record<string, string>): Promise<StandInWorker> {
  const child = spawn(process.execPath, [STAND_IN, MAIN], {
    cwd: ROOT,
    env: { PATH: process.env["PATH"] ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe", "ipc"],
    // Structured clone over IPC: RPC bytes stay Uint8Array.
    serialization: "advanced",
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.setEncoding("utf8").on("data", (c: string) => (stdout += c));
  child.stderr?.setEncoding("utf8").on("data", (c: string) => (stderr += c));
  const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const pending = new Map<number, (m: Extract<WorkerMessage, { type: "result" }>) => void>();
  let nextId = 1;
  const ready = await new Promise<Extract<WorkerMessage, { type: "ready" }>>((resolve, reject) => {
    child.on("message", (message: WorkerMessage) => {
      if (message.type === "ready") resolve(message);
      else pending.get(message.id)?.(message);
    });
    void exit.then((code) => reject(new Error(`worker exited (${code}) before registering: ${stderr}`)));
  });
  const byName = new Map(ready.functions.map((f) => [f.name, f]));
  const invoke = (functionName: string, inputData: Extract<ParentMessage, { type: "invoke" }>["inputData"]) =>
    new Promise<Invocation>((resolve) => {
      const id = nextId++;
      pending.set(id, (m) => {
        pending.delete(id);
        resolve({ invocationId: m.invocationId, response: m.response, error: m.error, logs: m.logs });
      });
      const message: ParentMessage = { type: "invoke", id, functionName, inputData };
      child.send(message);
    });
  const trigger = (functionName: string) => {
    const metadata = byName.get(functionName);
    if (metadata === undefined) throw new Error(`no function ${functionName} registered`);
    return triggerOf(metadata).name;
  };
  return {
    programmingModel: ready.programmingModel,
    functions: ready.functions,
    systemLogs: ready.systemLogs,
    http: async (functionName, request) => {
      const result = await invoke(functionName, [{ name: trigger(functionName), data: { http: request } }]);
      const http = result.response?.returnValue?.http;
      if (http === undefined || http === null) throw new Error(`no http response: ${result.error ?? ""}`);
      const body = http.body?.bytes ?? undefined;
      return {
        ...result,
        http,
        status: Number(http.statusCode),
        headers: http.headers ?? {},
        text: body === undefined ? (http.body?.string ?? "") : Buffer.from(body).toString("utf8"),
      };
    },
    timer: (functionName, isPastDue = false) =>
      invoke(functionName, [
        {
          name: trigger(functionName),
          data: {
            json: JSON.stringify({
              Schedule: { AdjustForDST: true },
              ScheduleStatus: null,
              IsPastDue: isPastDue,
            }),
          },
        },
      ]),
    exited: exit.then((code) => ({ code, stdout, stderr })),
    close: async () => {
      if (child.exitCode === null) child.send({ type: "exit" } satisfies ParentMessage);
      const code = await exit;
      return { code, stdout, stderr };
    },
  };
}
