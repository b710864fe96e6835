/// A session window together with the key it belongs to.
public struct KeyedWindow<Key: Hashable & Sendable, Value: Sendable, Time: Sendable>: Sendable {
    /// The session key.
    public var key: Key
    /// The session: from its first value to its last value plus the gap.
    public var window: Window<Value, Time>

    /// Creates a keyed window.
    /// - Parameters:
    ///   - key: The session key.
    ///   - window: The session window.
    @inlinable
    public init(key: Key, window: Window<Value, Time>) {
        self.key = key
        self.window = window
    }
}

// MARK: - Equatable

extension KeyedWindow: Equatable where Value: Equatable, Time: Equatable {}
