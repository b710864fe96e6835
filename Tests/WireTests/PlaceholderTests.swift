import Testing

@Test("the wire test target builds") func wireTargetBuilds() {}
