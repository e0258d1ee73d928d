import NIOCore
import ZooKeeperClient
import ZooKeeperWire

/// Drives one connection: keeps `depth` operations in flight (saturating), or starts them at the intended times of a
/// `RateSchedule` (fixed rate). Lives on the connection's event loop.
final class LoadWorker: RawConnectionDelegate {
    struct Slot {
        var kind: OpKind = .get
        var step = 0
        var intended: UInt64 = 0
        var path = ""
    }

    let connection: RawConnection
    let stats: LoopStats
    private let mix: OpMix
    private let keys: [String]
    private let value: [UInt8]
    private let multiSize: Int
    private let sequencePrefix: String
    private let servicePath: String
    private let servicePrefix: String
    private var rng: SplitMix64
    private var slots: [Slot]
    private var freeSlots: [Int]
    private var schedule: RateSchedule?
    private var nextIndex: UInt64 = 0
    private var timer: Scheduled<Void>?
    private var quota: UInt64?
    private var measuredHere: UInt64 = 0
    private(set) var stopped = false
    private(set) var failed = false
    /// Operations that were due (fixed rate) but not started when the worker stopped.
    private(set) var backlogAtStop: UInt64 = 0
    private var drained: EventLoopPromise<Void>
    private var quotaReached: EventLoopPromise<Void>
    private var drainedDone = false
    private var quotaDone = false

    init(
        connection: RawConnection, stats: LoopStats, configuration: LoadConfiguration, keys: [String], value: [UInt8],
        seed: UInt64, schedule: RateSchedule?, quota: UInt64?
    ) {
        self.connection = connection
        self.stats = stats
        self.mix = configuration.mix
        self.keys = keys
        self.value = value
        self.multiSize = configuration.multiSize
        self.sequencePrefix = configuration.sequencePath + "/n-"
        self.servicePath = configuration.servicePath
        self.servicePrefix = configuration.servicePath + "/i-"
        self.rng = SplitMix64(seed: seed)
        if configuration.mix.entries.count > 1 {
            for entry in configuration.mix.entries where stats.latenciesByKind[entry.kind.index] == nil {
                stats.latenciesByKind[entry.kind.index] = LatencyRecorder()
            }
        }
        self.slots = Array(repeating: Slot(), count: configuration.depth)
        self.freeSlots = Array((0..<configuration.depth).reversed())
        self.schedule = schedule
        self.quota = quota
        self.drained = connection.eventLoop.makePromise()
        self.quotaReached = connection.eventLoop.makePromise()
        if quota == 0 { completeQuota() }
        connection.delegate = self
    }

    var drainedFuture: EventLoopFuture<Void> { drained.futureResult }
    var quotaFuture: EventLoopFuture<Void> { quotaReached.futureResult }
    var inFlightOperations: Int { slots.count - freeSlots.count }

    // MARK: Control

    func start() {
        if schedule != nil {
            tick()
        } else {
            let now = NIODeadline.now().uptimeNanoseconds
            while let slot = freeSlots.popLast() { startOperation(slot: slot, intended: now) }
            connection.flush()
        }
    }

    /// Stops starting operations; `drainedFuture` completes when the ones in flight are answered.
    func stop() {
        guard !stopped else { return }
        stopped = true
        timer?.cancel()
        timer = nil
        completeQuota()
        if let schedule {
            let due = schedule.dueCount(at: NIODeadline.now().uptimeNanoseconds)
            backlogAtStop = due > nextIndex ? due - nextIndex : 0
        }
        checkDrained()
    }

    private func checkDrained() {
        if stopped && !drainedDone && (freeSlots.count == slots.count || failed) {
            drainedDone = true
            drained.succeed(())
        }
    }

    private func completeQuota() {
        guard !quotaDone else { return }
        quotaDone = true
        quotaReached.succeed(())
    }

    // MARK: Fixed rate

    private func tick() {
        timer = nil
        guard !stopped, let schedule else { return }
        let now = NIODeadline.now().uptimeNanoseconds
        let due = schedule.dueCount(at: now)
        while nextIndex < due, let slot = freeSlots.popLast() {
            startOperation(slot: slot, intended: schedule.intendedTime(nextIndex))
            nextIndex += 1
        }
        connection.flush()
        let next = schedule.intendedTime(due)
        let bound = NIOLoopBound(self, eventLoop: connection.eventLoop)
        timer = connection.eventLoop.scheduleTask(deadline: .uptimeNanoseconds(next)) { bound.value.tick() }
    }

    // MARK: Operations

    private func startOperation(slot: Int, intended: UInt64) {
        let kind = mix.pick(using: &rng)
        if schedule != nil && stats.recording {
            let now = NIODeadline.now().uptimeNanoseconds
            stats.sendLateness.record(nanoseconds: now > intended ? now - intended : 0)
        }
        slots[slot].kind = kind
        slots[slot].step = 0
        slots[slot].intended = intended
        switch kind {
        case .get:
            connection.send(.getData(GetDataRequest(path: randomKey(), watch: false)), tag: slot)
        case .set:
            connection.send(.setData(SetDataRequest(path: randomKey(), data: value, version: -1)), tag: slot)
        case .existsWatch:
            connection.send(.exists(ExistsRequest(path: randomKey(), watch: true)), tag: slot)
        case .createDelete:
            connection.send(.create(CreateRequest(
                path: sequencePrefix, data: value, acl: ACL.openUnsafe, flags: CreateMode.ephemeralSequential.rawValue)), tag: slot)
        case .registerResolve:
            connection.send(.create(CreateRequest(
                path: servicePrefix, data: value, acl: ACL.openUnsafe, flags: CreateMode.ephemeralSequential.rawValue)), tag: slot)
        case .multi:
            var ops: [ZooKeeperRequest] = []
            ops.reserveCapacity(multiSize)
            for _ in 0..<multiSize { ops.append(.setData(SetDataRequest(path: randomKey(), data: value, version: -1))) }
            connection.send(.multi(ops), tag: slot)
        }
    }

    private func randomKey() -> String {
        keys[rng.next(below: keys.count)]
    }

    func rawConnection(_ connection: RawConnection, didReceive header: ReplyHeader, body: ByteBuffer, tag slot: Int, op: OpCode) {
        guard header.err == 0 else {
            finish(slot: slot, error: ErrorCode(rawValue: header.err).map { "\($0)" } ?? "\(header.err)")
            return
        }
        let kind = slots[slot].kind
        switch kind {
        case .get, .set, .existsWatch:
            finish(slot: slot, error: nil)
        case .multi:
            // A failed multi answers err 0 with error results: the first result's type is then -1.
            let firstType = body.getInteger(at: body.readerIndex, endianness: .big, as: Int32.self)
            finish(slot: slot, error: firstType == OpCode.error.rawValue ? "multiFailed" : nil)
        case .createDelete, .registerResolve:
            let step = slots[slot].step
            if step == 0 {
                var body = body
                guard let created = try? body.readWireRecord(CreateResponse.self) else {
                    finish(slot: slot, error: "badCreateResponse")
                    return
                }
                slots[slot].path = created.path
                slots[slot].step = 1
                if kind == .createDelete {
                    connection.send(.delete(DeleteRequest(path: created.path, version: -1)), tag: slot)
                } else {
                    connection.send(.getChildren2(GetChildren2Request(path: servicePath, watch: false)), tag: slot)
                }
            } else if step == 1 && kind == .registerResolve {
                slots[slot].step = 2
                connection.send(.delete(DeleteRequest(path: slots[slot].path, version: -1)), tag: slot)
            } else {
                finish(slot: slot, error: nil)
            }
        }
    }

    private func finish(slot: Int, error: String?) {
        let now = NIODeadline.now().uptimeNanoseconds
        stats.completedTotal += 1
        if let error {
            stats.errorsTotal += 1
            if stats.recording { stats.errors["\(slots[slot].kind.rawValue):\(error)", default: 0] += 1 }
        } else if stats.recording && (quota.map { measuredHere < $0 } ?? true) {
            let intended = slots[slot].intended
            let nanoseconds = now > intended ? now - intended : 0
            stats.latencies.record(nanoseconds: nanoseconds)
            stats.latenciesByKind[slots[slot].kind.index]?.record(nanoseconds: nanoseconds)
            stats.measured += 1
            measuredHere += 1
            if let quota, measuredHere == quota {
                completeQuota()
                stop()
            }
        }
        if stopped {
            freeSlots.append(slot)
            checkDrained()
            return
        }
        if let schedule {
            if nextIndex < schedule.dueCount(at: now) {
                startOperation(slot: slot, intended: schedule.intendedTime(nextIndex))
                nextIndex += 1
            } else {
                freeSlots.append(slot)
            }
        } else {
            startOperation(slot: slot, intended: now)
        }
    }

    func rawConnection(_ connection: RawConnection, didReceiveNotification event: WatcherEvent, zxid: Int64) {}

    func rawConnectionDidClose(_ connection: RawConnection, expected: Bool) {
        guard !expected else { return }
        failed = true
        stats.connectionsLost += 1
        timer?.cancel()
        timer = nil
        stopped = true
        checkDrained()
        completeQuota()
    }
}
