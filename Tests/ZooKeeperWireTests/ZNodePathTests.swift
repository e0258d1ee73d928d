import Testing

import ZooKeeperWire

/// ZooKeeper's PathUtils.validatePath rules.
@Suite struct ZNodePathTests {
    @Test(arguments: [
        "/", "/a", "/a/b", "/zookeeper", "/a-b_c.d", "/.a", "/a.", "/a/..b", "/a/b..", "/...", "/a/.../b",
        "/ünïcödé", "/日本", "/a b", "/a\u{7E}",  // printable characters and the BMP below the private-use area
        "/n-0000000001", "/\u{A0}",
    ])
    func validPaths(_ path: String) {
        #expect(ZNodePath.isValid(path))
    }

    @Test(arguments: [
        "",  // empty
        "a", "a/b", "zookeeper",  // relative
        "/a/", "/a/b/", "//",  // trailing slash
        "//a", "/a//b",  // empty segment
        "/.", "/..", "/a/.", "/a/..", "/a/./b", "/a/../b",  // relative segments
        "/a\u{0}b", "/\u{0}",  // null
        "/a\u{1}", "/a\u{1F}", "/a\u{7F}", "/a\u{9F}",  // control characters
        "/a\u{E000}", "/a\u{F8FF}",  // private use area (Java's \ud800-\uf8ff range)
        "/a\u{FFF0}", "/a\u{FFFF}",  // specials
        "/😀",  // outside the BMP: Java sees surrogates
    ])
    func invalidPaths(_ path: String) {
        #expect(!ZNodePath.isValid(path))
    }

    @Test func parentAndName() {
        #expect(ZNodePath.parent(of: "/") == nil)
        #expect(ZNodePath.parent(of: "/a") == "/")
        #expect(ZNodePath.parent(of: "/a/b") == "/a")
        #expect(ZNodePath.parent(of: "/a/b/c") == "/a/b")
        #expect(ZNodePath.parent(of: "noslash") == nil)
        #expect(ZNodePath.name(of: "/") == "")
        #expect(ZNodePath.name(of: "/a") == "a")
        #expect(ZNodePath.name(of: "/a/bc") == "bc")
        #expect(ZNodePath.child("/", "a") == "/a")
        #expect(ZNodePath.child("/a", "b") == "/a/b")
    }

    @Test func selfOrDescendant() {
        #expect(ZNodePath.isSelfOrDescendant("/a", of: "/"))
        #expect(ZNodePath.isSelfOrDescendant("/", of: "/"))
        #expect(ZNodePath.isSelfOrDescendant("/a", of: "/a"))
        #expect(ZNodePath.isSelfOrDescendant("/a/b", of: "/a"))
        #expect(!ZNodePath.isSelfOrDescendant("/ab", of: "/a"))
        #expect(!ZNodePath.isSelfOrDescendant("/b", of: "/a"))
        #expect(!ZNodePath.isSelfOrDescendant("/a", of: "/a/b"))
    }
}

@Suite struct ZNodePathProblemTests {
    @Test func problemsAreNamed() {
        #expect(ZNodePath.problem(with: "") == .empty)
        #expect(ZNodePath.problem(with: "a") == .notAbsolute)
        #expect(ZNodePath.problem(with: "/a/") == .trailingSlash)
        #expect(ZNodePath.problem(with: "/a//b") == .emptySegment)
        #expect(ZNodePath.problem(with: "/a/..") == .relativeSegment)
        #expect(ZNodePath.problem(with: "/a\u{1}") == .invalidCharacter)
        // Non-BMP characters are surrogates in Java's UTF-16, which ZooKeeper refuses: the client and the
        // server now share this rule (the client used to accept them).
        #expect(ZNodePath.problem(with: "/\u{1F600}") == .invalidCharacter)
        #expect(ZNodePath.problem(with: "/a") == nil)
        #expect(ZNodePath.selfAndAncestors("/a/b") == ["/a/b", "/a", "/"])
    }
}
