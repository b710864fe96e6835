extension AsyncSequence {
    /// Drops a value whose key was already let through within `ttl`; failures always pass.
    ///
    /// The first value with a key passes and starts its time-to-live; later values with the same key
    /// are dropped (and counted in `dropped`) until `ttl` has passed on `clock` since that first one,
    /// after which the next value with the key passes again. At most `capacity` keys are remembered:
    /// when full, the oldest key is forgotten early, so memory stays bounded even without a TTL.
    /// - Parameters:
    ///   - key: The key of a value.
    ///   - ttl: How long a key is remembered; `nil` (the default) remembers until evicted by `capacity`.
    ///   - capacity: The most keys remembered at once (at least 1); 10,000 by default.
    ///   - clock: The clock that measures `ttl`; `ContinuousClock` by default.
    ///   - dropped: Counts the dropped duplicates.
    /// - Returns: The values seen for the first time within their TTL, and every failure.
    @inlinable
    public func dedupe<Value: Sendable, Key: Hashable & Sendable, C: Clock>(
        by key: @escaping @Sendable (Value) -> Key,
        ttl: Duration? = nil,
        capacity: Int = 10_000,
        clock: C = ContinuousClock(),
        dropped: ItemCounter? = nil
    ) -> DedupeSequence<Self, Value, Key, C>
    where Element == StreamItem<Value>, Failure == Never, C.Duration == Duration {
        DedupeSequence(base: self, key: key, ttl: ttl, capacity: Swift.max(1, capacity), clock: clock, dropped: dropped)
    }
}

/// The sequence returned by `dedupe(by:ttl:capacity:clock:dropped:)`.
public struct DedupeSequence<Base: AsyncSequence, Value: Sendable, Key: Hashable & Sendable, C: Clock>: AsyncSequence
where Base.Element == StreamItem<Value>, Base.Failure == Never, C.Duration == Duration {
    public typealias Element = StreamItem<Value>
    public typealias Failure = Never

    @usableFromInline let base: Base
    @usableFromInline let key: @Sendable (Value) -> Key
    @usableFromInline let ttl: Duration?
    @usableFromInline let capacity: Int
    @usableFromInline let clock: C
    @usableFromInline let dropped: ItemCounter?

    @inlinable
    init(
        base: Base,
        key: @escaping @Sendable (Value) -> Key,
        ttl: Duration?,
        capacity: Int,
        clock: C,
        dropped: ItemCounter?
    ) {
        self.base = base
        self.key = key
        self.ttl = ttl
        self.capacity = capacity
        self.clock = clock
        self.dropped = dropped
    }

    /// Creates an iterator with an empty key memory.
    /// - Returns: The iterator.
    @inlinable
    public func makeAsyncIterator() -> Iterator {
        Iterator(base: base.makeAsyncIterator(), sequence: self)
    }

    /// Iterator of ``DedupeSequence``.
    public struct Iterator: AsyncIteratorProtocol {
        public typealias Element = StreamItem<Value>
        public typealias Failure = Never

        @usableFromInline
        struct Entry {
            @usableFromInline var key: Key
            @usableFromInline var admitted: C.Instant?
            @usableFromInline var serial: Int

            @inlinable
            init(key: Key, admitted: C.Instant?, serial: Int) {
                self.key = key
                self.admitted = admitted
                self.serial = serial
            }
        }

        @usableFromInline var base: Base.AsyncIterator
        @usableFromInline let key: @Sendable (Value) -> Key
        @usableFromInline let ttl: Duration?
        @usableFromInline let capacity: Int
        @usableFromInline let clock: C
        @usableFromInline let dropped: ItemCounter?
        /// Key -> serial of its live entry in `order`.
        @usableFromInline var seen: [Key: Int] = [:]
        /// Admitted keys, oldest first; admission instants are non-decreasing.
        @usableFromInline var order = Ring<Entry>()
        @usableFromInline var serial = 0

        @inlinable
        init(base: Base.AsyncIterator, sequence: DedupeSequence) {
            self.base = base
            key = sequence.key
            ttl = sequence.ttl
            capacity = sequence.capacity
            clock = sequence.clock
            dropped = sequence.dropped
        }

        /// The next item that is not a duplicate.
        /// - Parameter actor: The caller's isolation, passed to the base iterator.
        /// - Returns: The next item, or `nil` at the end.
        @inlinable
        public mutating func next(isolation actor: isolated (any Actor)?) async -> StreamItem<Value>? {
            while let item = await base.next(isolation: actor) {
                guard case .success(let value) = item.outcome else { return item }
                if admit(key(value)) { return item }
                dropped?.increment()
            }
            return nil
        }

        /// The next item that is not a duplicate.
        /// - Returns: The next item, or `nil` at the end.
        @inlinable
        public mutating func next() async -> StreamItem<Value>? {
            await next(isolation: nil)
        }

        @inlinable
        mutating func admit(_ key: Key) -> Bool {
            let now: C.Instant? = ttl == nil ? nil : clock.now
            if let now, let ttl { expire(before: now.advanced(by: .zero - ttl)) }
            if seen[key] != nil { return false }
            while seen.count >= capacity, let oldest = order.popFirst() {
                if seen[oldest.key] == oldest.serial { seen[oldest.key] = nil }
            }
            serial += 1
            seen[key] = serial
            order.append(Entry(key: key, admitted: now, serial: serial))
            return true
        }

        /// Forgets keys admitted at or before `limit`.
        @inlinable
        mutating func expire(before limit: C.Instant) {
            while let oldest = order.first, let admitted = oldest.admitted, admitted <= limit {
                _ = order.popFirst()
                if seen[oldest.key] == oldest.serial { seen[oldest.key] = nil }
            }
        }
    }
}

// MARK: - Sendable

extension DedupeSequence: Sendable where Base: Sendable {}
