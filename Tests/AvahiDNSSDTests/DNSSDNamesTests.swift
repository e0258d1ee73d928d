import Testing

@testable import AvahiDNSSD

@Suite struct DNSSDNamesTests {
    @Test func serviceNamesFollowRFC6335() {
        for valid in ["http", "a", "billing", "api-v2", "x1", "abcdefghijklmno", "Billing", "1a"] {
            #expect(DNSSDNames.isValidServiceName(valid), "\(valid)")
        }
        for invalid in ["", "abcdefghijklmnop", "-api", "api-", "a--b", "123", "com.example", "bill ing", "bïlling", "a_b"] {
            #expect(!DNSSDNames.isValidServiceName(invalid), "\(invalid)")
        }
    }

    @Test func serviceTypes() {
        #expect(DNSSDNames.isValidServiceType("_http._tcp"))
        #expect(DNSSDNames.isValidServiceType("_syslog._udp"))
        #expect(!DNSSDNames.isValidServiceType("http._tcp"))
        #expect(!DNSSDNames.isValidServiceType("_http._sctp"))
        #expect(!DNSSDNames.isValidServiceType("_._tcp"))
        #expect(!DNSSDNames.isValidServiceType("_a.b._tcp"))
        #expect(DNSSDNames.splitServiceType("_ipp._TCP")! == ("ipp", "tcp"))
    }

    @Test func instanceNamesAreCleanedAndCutOnCharacterBoundaries() {
        #expect(DNSSDNames.instanceName("Office Printer") == "Office Printer")
        #expect(DNSSDNames.instanceName("tab\there\u{7F}") == "tab here ")
        #expect(DNSSDNames.instanceName("") == "service")
        let long = String(repeating: "é", count: 40)  // 80 bytes
        let cut = DNSSDNames.instanceName(long)
        #expect(cut.utf8.count == 62)
        #expect(cut == String(repeating: "é", count: 31))
        #expect(DNSSDNames.instanceName(String(repeating: "x", count: 63)).utf8.count == 63)
    }

    @Test func alternativeNamesFollowAvahi() {
        #expect(DNSSDNames.alternativeName("api") == "api #2")
        #expect(DNSSDNames.alternativeName("api #2") == "api #3")
        #expect(DNSSDNames.alternativeName("api #9") == "api #10")
        #expect(DNSSDNames.alternativeName("api#2") == "api#2 #2")
        #expect(DNSSDNames.alternativeName("api #") == "api # #2")
        let long = String(repeating: "y", count: 63)
        let alternative = DNSSDNames.alternativeName(long)
        #expect(alternative.utf8.count == 63)
        #expect(alternative.hasSuffix(" #2"))
        #expect(DNSSDNames.alternativeName(alternative).hasSuffix(" #3"))
    }

    @Test func fullNamesParseFromTheRight() {
        let printer = DNSSDNames.parse("Office Printer._ipp._tcp.local")!
        #expect(printer.instance == "Office Printer" && printer.type == "_ipp._tcp" && printer.domain == "local")
        let dotted = DNSSDNames.parse("com.example.Billing b1._zooreg._tcp.local.")!
        #expect(dotted.instance == "com.example.Billing b1" && dotted.type == "_zooreg._tcp")
        let escaped = DNSSDNames.parse("a\\.b\\032c._http._tcp")!
        #expect(escaped.instance == "a.b c" && escaped.domain == "local")
        let type = DNSSDNames.parse("_http._tcp")!
        #expect(type.instance == nil && type.type == "_http._tcp")
        let subtype = DNSSDNames.parse("_printer._sub._ipp._tcp")!
        #expect(subtype.instance == nil && subtype.type == "_printer._sub._ipp._tcp")
        let other = DNSSDNames.parse("x._http._udp.example.org")!
        #expect(other.type == "_http._udp" && other.domain == "example.org")
        #expect(DNSSDNames.parse("billing") == nil)
        #expect(DNSSDNames.parse("com.example.Billing") == nil)
    }
}

@Suite struct TXTRecordTests {
    @Test func itemsRoundTripThroughTheirWireForm() {
        #expect(DNSSDTXTItem("k", "v").bytes == Array("k=v".utf8))
        #expect(DNSSDTXTItem(key: "flag", value: nil).bytes == Array("flag".utf8))
        #expect(DNSSDTXTItem(bytes: Array("a=b=c".utf8)) == DNSSDTXTItem("a", "b=c"))
        #expect(DNSSDTXTItem(bytes: Array("flag".utf8)) == DNSSDTXTItem(key: "flag", value: nil))
        #expect(DNSSDTXTItem(bytes: Array("=x".utf8)) == nil)
        #expect(DNSSDTXTItem(bytes: []) == nil)
        #expect(DNSSDTXTItem(bytes: Array("empty=".utf8)) == DNSSDTXTItem(key: "empty", value: []))
    }

    @Test func keysMustBePrintableASCIIWithoutEquals() {
        #expect(DNSSDTXTRecord.isValidKey("txtvers"))
        #expect(DNSSDTXTRecord.isValidKey("with space"))
        #expect(!DNSSDTXTRecord.isValidKey(""))
        #expect(!DNSSDTXTRecord.isValidKey("a=b"))
        #expect(!DNSSDTXTRecord.isValidKey("clé"))
        #expect(!DNSSDTXTRecord.isValidKey("tab\t"))
    }

    @Test func validSmallRecordsPassUnchanged() {
        let items = [DNSSDTXTItem("txtvers", "1"), DNSSDTXTItem("a", "b")]
        #expect(DNSSDTXTRecord.fit(items) == items)
        #expect(DNSSDTXTRecord.wireSize(items) == 14)  // 1 + 9 (txtvers=1) + 1 + 3 (a=b)
        #expect(DNSSDTXTRecord.wireSize([]) == 1)
    }

    @Test func oversizedValuesAreCutOnCharacterBoundaries() {
        let value = String(repeating: "€", count: 100)  // 300 bytes
        let fitted = DNSSDTXTRecord.fit([DNSSDTXTItem("k", value)], budget: 1300)
        #expect(fitted.count == 2)
        #expect(fitted[0].bytes.count <= 255)
        #expect(fitted[0].text == String(repeating: "€", count: 84))  // 2 + 252 bytes
        #expect(fitted[1] == DNSSDTXTItem(key: "truncated", value: nil))
    }

    @Test func invalidAndRepeatedKeysAreDropped() {
        let fitted = DNSSDTXTRecord.fit([
            DNSSDTXTItem("ok", "1"), DNSSDTXTItem("bad=key", "2"), DNSSDTXTItem("OK", "3"), DNSSDTXTItem("ünï", "4"),
        ])
        #expect(fitted == [DNSSDTXTItem("ok", "1"), DNSSDTXTItem(key: "truncated", value: nil)])
    }

    @Test func theBudgetKeepsRequiredItemsAndDropsTheRestInOrder() {
        var items = [DNSSDTXTItem("id", String(repeating: "i", count: 100))]
        for index in 0..<20 { items.append(DNSSDTXTItem("key\(index)", String(repeating: "v", count: 30))) }
        let fitted = DNSSDTXTRecord.fit(items, required: 1, budget: 400)
        #expect(fitted.first == items[0])
        #expect(fitted.last == DNSSDTXTItem(key: "truncated", value: nil))
        #expect(DNSSDTXTRecord.wireSize(fitted) <= 400)
        // The kept user items are a prefix, in order.
        let kept = fitted.dropFirst().dropLast()
        #expect(Array(kept) == Array(items[1...kept.count]))
        #expect(kept.count >= 6)
        for item in fitted { #expect(item.bytes.count <= 255) }
    }

    @Test func requiredItemsStayEvenOverTheBudget() {
        let required = (0..<3).map { DNSSDTXTItem("r\($0)", String(repeating: "x", count: 200)) }
        let fitted = DNSSDTXTRecord.fit(required + [DNSSDTXTItem("extra", "1")], required: 3, budget: 400)
        #expect(Array(fitted.prefix(3)) == required)
        #expect(fitted.count == 4 && fitted[3].key == "truncated")
    }
}
