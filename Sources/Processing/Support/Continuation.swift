/// The continuation type of the operators' hand-offs.
///
/// Debug builds use `CheckedContinuation`, which traps on a missed or double resume, so the test
/// suite checks every hand-off. Release builds use `UnsafeContinuation`: `CheckedContinuation` is a
/// resilient type whose every copy and `nil` check goes through value witnesses, which made a
/// relay's per-element path about 8× slower.
#if DEBUG
@usableFromInline
typealias Continuation<T> = CheckedContinuation<T, Never>

@inlinable
func withContinuation<T>(_ body: (Continuation<T>) -> Void) async -> T {
    await withCheckedContinuation(body)
}
#else
@usableFromInline
typealias Continuation<T> = UnsafeContinuation<T, Never>

@inlinable
func withContinuation<T>(_ body: (Continuation<T>) -> Void) async -> T {
    await withUnsafeContinuation(body)
}
#endif
