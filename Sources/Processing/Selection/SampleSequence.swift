extension AsyncSequence {
    /// Keeps each value with probability `rate`; failures always pass.
    ///
    /// `rate` is clamped to `0...1` (NaN counts as 0): 1 keeps everything, 0 keeps only failures.
    /// Pass a seeded generator to make the choice reproducible in tests.
    /// - Parameters:
    ///   - rate: The probability of keeping a value.
    ///   - generator: The source of randomness; each iterator uses its own copy.
    /// - Returns: The kept values and every failure.
    @inlinable
    public func sample<Value: Sendable, Generator: RandomNumberGenerator & Sendable>(
        rate: Double,
        using generator: Generator
    ) -> SampleSequence<Self, Value, Generator> where Element == StreamItem<Value>, Failure == Never {
        SampleSequence(base: self, rate: rate.isNaN ? 0 : Swift.min(1, Swift.max(0, rate)), generator: generator)
    }

    /// Keeps each value with probability `rate`, using the system's random generator; failures always pass.
    /// - Parameter rate: The probability of keeping a value, clamped to `0...1`.
    /// - Returns: The kept values and every failure.
    @inlinable
    public func sample<Value: Sendable>(
        rate: Double
    ) -> SampleSequence<Self, Value, SystemRandomNumberGenerator> where Element == StreamItem<Value>, Failure == Never {
        sample(rate: rate, using: SystemRandomNumberGenerator())
    }
}

/// The sequence returned by `sample(rate:)` and `sample(rate:using:)`.
public struct SampleSequence<Base: AsyncSequence, Value: Sendable, Generator: RandomNumberGenerator & Sendable>:
    AsyncSequence
where Base.Element == StreamItem<Value>, Base.Failure == Never {
    public typealias Element = StreamItem<Value>
    public typealias Failure = Never

    @usableFromInline let base: Base
    @usableFromInline let rate: Double
    @usableFromInline let generator: Generator

    @inlinable
    init(base: Base, rate: Double, generator: Generator) {
        self.base = base
        self.rate = rate
        self.generator = generator
    }

    /// Creates an iterator.
    /// - Returns: The iterator.
    @inlinable
    public func makeAsyncIterator() -> Iterator {
        Iterator(base: base.makeAsyncIterator(), rate: rate, generator: generator)
    }

    /// Iterator of ``SampleSequence``.
    public struct Iterator: AsyncIteratorProtocol {
        public typealias Element = StreamItem<Value>
        public typealias Failure = Never

        @usableFromInline var base: Base.AsyncIterator
        @usableFromInline let rate: Double
        @usableFromInline var generator: Generator

        @inlinable
        init(base: Base.AsyncIterator, rate: Double, generator: Generator) {
            self.base = base
            self.rate = rate
            self.generator = generator
        }

        /// The next kept item.
        /// - Parameter actor: The caller's isolation, passed to the base iterator.
        /// - Returns: The next item, or `nil` at the end.
        @inlinable
        public mutating func next(isolation actor: isolated (any Actor)?) async -> StreamItem<Value>? {
            while let item = await base.next(isolation: actor) {
                guard item.isSuccess, rate < 1 else { return item }
                if rate > 0, Double.random(in: 0..<1, using: &generator) < rate { return item }
            }
            return nil
        }

        /// The next kept item.
        /// - Returns: The next item, or `nil` at the end.
        @inlinable
        public mutating func next() async -> StreamItem<Value>? {
            await next(isolation: nil)
        }
    }
}

// MARK: - Sendable

extension SampleSequence: Sendable where Base: Sendable {}
