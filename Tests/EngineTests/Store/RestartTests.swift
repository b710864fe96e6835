import Foundation
import Testing

@testable import StreamKitEngine

@Suite struct RestartTests {
    @Test("after a restart every acknowledged entry is back in order and producers continue at last+1")
    func restartKeepsEverything() async throws {
        try await withStore(.file) { fixture in
            for s in 0..<5 {
                try await fixture.store.produce(space: "s", segment: "g\(s)", records: records(1...120, tag: "g\(s)"))
            }
            let before = try await fixture.store.consumeSpace(space: "s").collect()
            let reopened = try await fixture.reopen()
            let after = try await reopened.consumeSpace(space: "s").collect()
            #expect(after == before)
            #expect(await reopened.segments(space: "s") == (0..<5).map { "g\($0)" })
            let status = await reopened.status(space: "s", segment: "g3")
            #expect(status?.firstSequence == 1 && status?.lastSequence == 120)
            let conflict = await streamKitError {
                try await reopened.produce(space: "s", segment: "g3", records: records(1...1))
            }
            #expect(conflict?.expectedSequence == 121)
            try await reopened.produce(space: "s", segment: "g3", records: records(121...130))
            let segment = try await reopened.consumeSegment(space: "s", segment: "g3", minSequence: 100).collect()
            #expect(segment.map(\.sequence) == Array(100...130))
            let next = try await reopened.consumeSpace(space: "s", offset: before[before.count - 1].offset).collect()
            #expect(next.map(\.sequence) == Array(121...130))
            await reopened.close()
        }
    }
}
