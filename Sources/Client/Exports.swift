// What an application needs with `import StreamKitClient` alone: the engine's model (records, entries,
// statuses, offsets, leases, errors, the registry for in-process use) and the processing operators.
@_exported public import StreamKitEngine
@_exported public import StreamKitProcessing
