extension Array {
    /// `withUnsafeBytes` that keeps the closure's typed error (the standard one is `rethrows`, which
    /// widens a typed error to `any Error`).
    func withUnsafeBytesTyped<Value, Failure: Error>(
        _ body: (UnsafeRawBufferPointer) throws(Failure) -> Value
    ) throws(Failure) -> Value {
        let outcome: Result<Value, Failure> = withUnsafeBytes { buffer in
            do throws(Failure) {
                return .success(try body(buffer))
            } catch {
                return .failure(error)
            }
        }
        return try outcome.get()
    }
}
