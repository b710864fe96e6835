import StreamKitWire
import Testing

/// Both sides agree on a version and features, or get a typed error.
struct NegotiationTests {
    @Test("overlapping ranges agree on the highest common version this build speaks")
    func overlappingRangesAgree() throws {
        let local = WireHello(features: ["a", "b"])
        let remote = WireHello(minVersion: 1, maxVersion: 9, features: ["b", "c"])
        let result = try WireHello.negotiate(local: local, remote: remote)
        #expect(result.version == .current)
        #expect(result.features == ["b"])
        #expect(try WireHello.negotiate(local: remote, remote: local) == result)
    }

    @Test("disjoint ranges fail with unsupportedVersion")
    func disjointRangesFail() {
        let remote = WireHello(minVersion: 2, maxVersion: 5)
        #expect {
            try WireHello.negotiate(local: WireHello(), remote: remote)
        } throws: { error in
            (error as? WireError)?.code == .unsupportedVersion
        }
    }

    @Test("an empty range fails with unsupportedVersion")
    func emptyRangeFails() {
        #expect {
            try WireHello.negotiate(local: WireHello(), remote: WireHello(minVersion: 1, maxVersion: 0))
        } throws: { error in
            (error as? WireError)?.code == .unsupportedVersion
        }
    }

    @Test("common features come back sorted without duplicates")
    func featuresAreSortedAndUnique() throws {
        let result = try WireHello.negotiate(
            local: WireHello(features: ["z", "a", "m", "a"]), remote: WireHello(features: ["m", "z", "a", "q"]))
        #expect(result.features == ["a", "m", "z"])
    }

    @Test("only implemented versions can be named")
    func onlyImplementedVersionsExist() {
        #expect(WireVersion(rawValue: 1) == .v1)
        #expect(WireVersion(rawValue: 0) == nil)
        #expect(WireVersion(rawValue: 2) == nil)
    }
}
