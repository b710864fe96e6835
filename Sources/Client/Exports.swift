// What an application needs with `import StreamKitClient` alone. The client SDK itself is the next issue;
// until then the module re-exports the engine's model and the processing operators.
@_exported public import StreamKitEngine
@_exported public import StreamKitProcessing
