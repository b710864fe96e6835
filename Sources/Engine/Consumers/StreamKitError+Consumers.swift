extension StreamKitError {
    /// `notFound`: the store has no consumer named `name`.
    public static func consumerNotFound(_ name: String) -> StreamKitError {
        .init(code: .notFound, message: "no consumer named \(name)")
    }

    /// `leaseNotHeld`: a reader with a higher fencing token (`current`) acknowledged for the consumer; the caller
    /// offered `offered`.
    static func consumerFenced(_ name: String, offered: UInt64, current: UInt64) -> StreamKitError {
        .init(
            code: .leaseNotHeld,
            message: "consumer \(name) was taken over: fencing token \(offered) is below \(current)")
    }

    /// `invalidArgument`: the consumer exists and reads something else.
    static func consumerTargetMismatch(_ existing: Consumer, _ target: ConsumerTarget) -> StreamKitError {
        .invalidArgument("consumer \(existing.name) exists and reads \(existing.target), not \(target)")
    }
}
