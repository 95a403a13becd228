/**
 * node-opcua logs warnings and errors to the console by itself (reconnection attempts, certificate
 * creation, the Node 20 PKCS#1 v1.5 notice). The collector reports through DriverStatus instead; call
 * this once in a process that runs OPC UA drivers or servers to keep the console clean.
 * NODEOPCUA_LOG_LEVEL (0–7) still wins when set.
 */
import { LogLevel, setLogLevel } from 'node-opcua';

export function quietOpcuaLogs(level: 'none' | 'errors' = 'none'): void {
  if (process.env.NODEOPCUA_LOG_LEVEL) return;
  setLogLevel(level === 'none' ? LogLevel.Emergency : LogLevel.Error);
}
