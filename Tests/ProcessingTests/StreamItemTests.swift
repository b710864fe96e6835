import StreamKitProcessing
import Testing

@Suite("StreamItem, ItemFailure and Metadata")
struct StreamItemTests {
    // MARK: - StreamItem

    @Test("a successful item exposes its value and no failure")
    func successAccessors() throws {
        let item = StreamItem(7, metadata: ["source": "orders"])

        #expect(item.value == 7)
        #expect(item.failure == nil)
        #expect(item.isSuccess)
        #expect(try item.get() == 7)
        #expect(item.metadata["source"] == "orders")
    }

    @Test("a failed item throws its failure from get()")
    func failureGetThrows() {
        let item = StreamItem<Int>(failure: ItemFailure(TestError(id: 1), item: "raw", stage: "decode"))

        #expect(item.value == nil)
        #expect(!item.isSuccess)
        #expect(throws: ItemFailure.self) { try item.get() }
        #expect(item.failure?.item(as: String.self) == "raw")
    }

    @Test("mapValue keeps metadata and turns a thrown error into a failure carrying the original value")
    func mapValueKeepsOriginal() {
        let item = StreamItem("x", metadata: ["offset": 12])

        let mapped: StreamItem<Int> = item.mapValue(stage: "parse") { _ in throw TestError(id: 3) }

        #expect(mapped.failure?.item(as: String.self) == "x")
        #expect(mapped.failure?.stage == "parse")
        #expect(mapped.failure?.error as? TestError == TestError(id: 3))
        #expect(mapped.metadata["offset"] == 12)
    }

    @Test("mapValue forwards an existing failure unchanged, without nesting")
    func mapValueForwardsFailure() {
        let failure = ItemFailure(TestError(id: 1), item: 5, stage: "first")
        let item = StreamItem<Int>(failure: failure, metadata: ["k": true])

        let mapped: StreamItem<String> = item.mapValue(stage: "second") { "\($0)" }

        #expect(mapped.failure?.stage == "first")
        #expect(mapped.failure?.item(as: Int.self) == 5)
        #expect(mapped.metadata["k"] == true)
    }

    @Test("a stage that rethrows an ItemFailure keeps the original failure instead of nesting it")
    func rethrownFailureIsNotNested() {
        let inner = ItemFailure(TestError(id: 9), item: 1, stage: "inner")

        let outer = ItemFailure(inner, item: 2, stage: "outer")

        #expect(outer.stage == "inner")
        #expect(outer.item(as: Int.self) == 1)
    }

    @Test("description shows the outcome and the metadata")
    func descriptions() {
        #expect(StreamItem(1).description == "success(1)")
        #expect(StreamItem(1, metadata: ["a": 1]).description == "success(1) [a: 1]")
        let failure = ItemFailure(TestError(id: 1), stage: "s", attempts: 2)
        #expect(failure.description.hasPrefix("s failed after 2 attempts"))
    }

    // MARK: - ItemFailure

    @Test("retried(attempts:error:) keeps item and stage and replaces attempts and error")
    func retriedFailure() {
        let failure = ItemFailure(TestError(id: 1), item: 4, stage: "call")

        let retried = failure.retried(attempts: 3, error: TestError(id: 2))

        #expect(retried.attempts == 3)
        #expect(retried.error as? TestError == TestError(id: 2))
        #expect(retried.item(as: Int.self) == 4)
        #expect(retried.stage == "call")
        #expect(failure.attempts == 1)
    }

    @Test("attempts below 1 are recorded as 1")
    func attemptsFloor() {
        #expect(ItemFailure(TestError(id: 1), stage: "s", attempts: 0).attempts == 1)
    }

    // MARK: - Metadata

    @Test("metadata literals, typed accessors, setting and merging")
    func metadataBasics() {
        var metadata: Metadata = ["s": "text", "i": 3, "d": 0.5, "b": false]
        metadata["t"] = .duration(.seconds(2))

        #expect(metadata["s"]?.stringValue == "text")
        #expect(metadata["i"]?.intValue == 3)
        #expect(metadata["i"]?.doubleValue == 3)
        #expect(metadata["d"]?.doubleValue == 0.5)
        #expect(metadata["b"]?.boolValue == false)
        #expect(metadata["t"]?.durationValue == .seconds(2))
        #expect(metadata["s"]?.intValue == nil)
        #expect(metadata.keys == ["b", "d", "i", "s", "t"])
        #expect(metadata.setting("i", to: 4)["i"] == 4)
        #expect(metadata.merging(["s": "new", "n": 1])["s"] == "new")
        #expect(metadata.merging(["n": 1]).count == 6)
        #expect(Metadata().isEmpty)
        #expect(Metadata(["a": 1]).description == "[a: 1]")
    }

    // MARK: - ProcessingError and ItemCounter

    @Test("processing errors carry a code, a message and whether retrying helps")
    func processingErrors() {
        let late = ProcessingError.lateItem(timestamp: .seconds(1), watermark: .seconds(5))
        let open = ProcessingError.circuitOpen(retryAfter: .seconds(3))

        #expect(late.code == .lateItem)
        #expect(!late.isRetryable)
        #expect(open.code == .circuitOpen)
        #expect(open.isRetryable)
        #expect(open.retryAfter == .seconds(3))
        #expect(open.description.hasPrefix("circuitOpen"))
    }

    @Test("an item counter increments and resets")
    func counter() {
        let counter = ItemCounter()

        counter.increment()
        counter.increment(by: 4)

        #expect(counter.value == 5)
        #expect(counter.reset() == 5)
        #expect(counter.value == 0)
    }
}
