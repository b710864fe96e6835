import StreamKitProcessing
import StreamKitTestSupport
import Synchronization

/// The error tests inject.
struct TestError: Error, Equatable, Sendable {
    var id: Int
}

/// An eager source of `0..<count` that counts how many elements were pulled.
struct CountingSource: AsyncSequence, Sendable {
    typealias Element = Int
    typealias Failure = Never

    final class Counter: Sendable {
        let pulled = Atomic<Int>(0)
        var value: Int { pulled.load(ordering: .relaxed) }
    }

    let count: Int
    let counter = Counter()

    init(_ count: Int) {
        self.count = count
    }

    func makeAsyncIterator() -> Iterator { Iterator(count: count, counter: counter) }

    struct Iterator: AsyncIteratorProtocol {
        typealias Failure = Never
        let count: Int
        let counter: Counter
        var next = 0

        mutating func next() async -> Int? {
            if Task.isCancelled { return nil }
            guard next < count else { return nil }
            defer { next += 1 }
            counter.pulled.add(1, ordering: .relaxed)
            return next
        }
    }
}

/// A source of fixed items (values and failures), iterated synchronously.
struct ItemSource<Value: Sendable>: AsyncSequence, Sendable {
    typealias Element = StreamItem<Value>
    typealias Failure = Never

    let items: [StreamItem<Value>]

    init(_ items: [StreamItem<Value>]) {
        self.items = items
    }

    func makeAsyncIterator() -> Iterator { Iterator(items: items) }

    struct Iterator: AsyncIteratorProtocol {
        typealias Failure = Never
        let items: [StreamItem<Value>]
        var index = 0

        mutating func next() async -> StreamItem<Value>? {
            guard index < items.count else { return nil }
            defer { index += 1 }
            return items[index]
        }
    }
}

/// Items `values`, with a failure (`TestError(id: position)`, stage "upstream") inserted at `position`.
func items(_ values: [Int], failureAt position: Int? = nil) -> ItemSource<Int> {
    var result = values.map { StreamItem($0) }
    if let position {
        result.insert(
            StreamItem(failure: ItemFailure(TestError(id: position), item: -1, stage: "upstream")),
            at: position
        )
    }
    return ItemSource(result)
}

/// A compact description of items for assertions: values as themselves, failures as "!stage".
func describe<Value>(_ items: [StreamItem<Value>]) -> [String] {
    items.map { item in
        switch item.outcome {
        case .success(let value): "\(value)"
        case .failure(let failure): "!\(failure.stage)"
        }
    }
}

/// A value a test can set from a `@Sendable` closure and read afterwards.
final class Box<Value: Sendable>: Sendable {
    private let storage: Mutex<Value>

    init(_ value: Value) {
        storage = Mutex(value)
    }

    var value: Value { storage.withLock { $0 } }

    func mutate(_ body: (inout Value) -> Void) {
        storage.withLock { body(&$0) }
    }
}

/// A failed item (`TestError(id:)`, stage "upstream").
func failureItem<Value>(_ id: Int = 0, as type: Value.Type = Int.self) -> StreamItem<Value> {
    StreamItem(failure: ItemFailure(TestError(id: id), item: id, stage: "upstream"))
}

/// A plain (non-item) source of values, like a consume stream.
struct PlainSource<Value: Sendable>: AsyncSequence, Sendable {
    typealias Element = Value
    typealias Failure = Never
    let values: [Value]

    init(_ values: [Value]) {
        self.values = values
    }

    func makeAsyncIterator() -> Iterator { Iterator(values: values) }

    struct Iterator: AsyncIteratorProtocol {
        typealias Failure = Never
        let values: [Value]
        var index = 0

        mutating func next() async -> Value? {
            guard index < values.count else { return nil }
            defer { index += 1 }
            return values[index]
        }
    }
}
