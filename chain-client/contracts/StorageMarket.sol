// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title StorageMarket: Genaro's special transactions as contract calls, plus what SPoR needs.
///
/// Genaro sends its special transactions as JSON to a special address with a hex `type`;
/// gnrfs runs the same operations, with the same fields and rules, on any EVM chain:
///
///   type  1 stake             stake()
///   type  2 heft sync         syncHeft(node, heft)
///   type  3 buy bucket space  buyBucketSpace(bucketId, sizeGB, start, end, backup)
///   type  4 buy traffic       buyTraffic(gb)
///   type  8 bind node         bindNode(nodeId, nodePubKey, signature)
///   type 11 unstake           unstake(amount), then withdrawUnstaked() after the delay
///   type 12 set prices        setPrices(...)
///   type 14 unbind node       unbindNode(nodeId)
///   type 41 bucket supplement bucketSupplement(bucketId, addSizeGB, addDays)
///
/// SPoR additions: registerFile / removeFile (a file's sentinel/Merkle commitment charged
/// against its bucket) and recordAudits (per-node pass/fail counters that feed heft).
///
/// Units: amounts and prices in wei; times are unix seconds; a day is 86400 s; "GB" is
/// 2^30 bytes (BYTES_PER_GB) wherever bytes and GB meet.
///
/// Payments (buyBucketSpace, buyTraffic, bucketSupplement): msg.value must be at least the
/// cost (see the quote* views); any excess is refunded to the sender in the same call.
/// Stake is the whole msg.value.
///
/// Every refusal is a require with a reason string "StorageMarket: ...", so clients decode
/// it with the standard Error(string) ABI.
contract StorageMarket {
    uint256 public constant SECONDS_PER_DAY = 86400;
    uint256 public constant BYTES_PER_GB = 1 << 30;
    uint256 public constant POINTS_SCALE = 1e18;
    uint256 public constant MAX_AUDIT_BATCH = 256;
    // secp256k1 group order / 2: signatures with a larger s are malleated copies.
    uint256 private constant SECP256K1_N_HALF =
        0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;

    struct Bucket {
        address owner;
        uint64 sizeGB;
        uint64 usedBytes;
        uint64 start;
        uint64 end;
        uint8 backup;
        uint32 fileCount;
    }

    struct FileRecord {
        bytes32 commitmentRoot;
        uint32 shardCount;
        uint64 sizeBytes;
        uint64 registeredAt;
    }

    struct PendingUnstake {
        uint256 amount;
        uint64 releaseAt;
    }

    struct HeftEntry {
        uint256 heft;
        uint64 blockNumber;
        uint64 timestamp;
    }

    struct AuditCounters {
        uint64 passed;
        uint64 failed;
        uint64 lastReportAt;
    }

    // ---- Roles and prices (type 12) ----
    address public owner;
    address public heftOracle;
    uint256 public pricePerGBDay;
    uint256 public pricePerGBTraffic;
    uint256 public minStake;
    uint256 public stakePerNode;
    uint64 public unstakeDelay;

    // ---- Stake, heft, nodes ----
    uint256 public totalStake;
    uint256 public totalHeft;
    mapping(address => uint256) private stake_;
    mapping(address => PendingUnstake) private pendingUnstake_;
    mapping(address => uint256) private heft_;
    mapping(address => HeftEntry[]) private heftLog_;
    address[] private stakers_;
    mapping(address => bool) private isStaker_;
    mapping(bytes20 => address) private nodeOwner_;
    mapping(address => bytes20[]) private nodes_;
    mapping(bytes20 => uint256) private nodeIndexPlusOne_;

    // ---- Space and traffic ----
    mapping(bytes32 => Bucket) private buckets_;
    mapping(address => bytes32[]) private bucketsOf_;
    mapping(address => uint64) private traffic_;
    mapping(bytes32 => mapping(bytes32 => FileRecord)) private files_;
    // Fees paid for space and traffic, withdrawable by the owner. Stakes are never revenue.
    uint256 public revenue;

    // ---- Audits ----
    mapping(bytes20 => AuditCounters) private audits_;
    mapping(address => mapping(bytes20 => AuditCounters)) private auditsBy_;

    uint256 private lock_ = 1;

    // ---- Events: one per call ----
    event Staked(address indexed staker, uint256 amount, uint256 newStake);
    event HeftSynced(address indexed node, uint256 heft, uint256 previousHeft);
    event BucketBought(
        bytes32 indexed bucketId,
        address indexed owner,
        uint64 sizeGB,
        uint64 start,
        uint64 end,
        uint8 backup,
        uint256 cost
    );
    event TrafficBought(address indexed buyer, uint64 gb, uint64 newTrafficGB, uint256 cost);
    event NodeBound(address indexed staker, bytes20 indexed nodeId);
    event UnstakeRequested(address indexed staker, uint256 amount, uint256 pendingAmount,
                           uint64 releaseAt);
    event UnstakeWithdrawn(address indexed staker, uint256 amount);
    event NodeUnbound(address indexed staker, bytes20 indexed nodeId);
    event BucketSupplemented(
        bytes32 indexed bucketId,
        address indexed owner,
        uint64 addSizeGB,
        uint64 addDays,
        uint64 newSizeGB,
        uint64 newEnd,
        uint256 cost
    );
    event PricesSet(uint256 pricePerGBDay, uint256 pricePerGBTraffic, uint256 minStake,
                    uint256 stakePerNode, uint64 unstakeDelay);
    event HeftOracleSet(address indexed oracle);
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);
    event RevenueWithdrawn(address indexed to, uint256 amount);
    event FileRegistered(bytes32 indexed bucketId, bytes32 indexed fileId, bytes32 commitmentRoot,
                         uint32 shardCount, uint64 sizeBytes);
    event FileRemoved(bytes32 indexed bucketId, bytes32 indexed fileId, uint64 sizeBytes);
    event AuditRecorded(address indexed reporter, bytes20 indexed nodeId, uint32 passed,
                        uint32 failed);

    modifier onlyOwner() {
        require(msg.sender == owner, "StorageMarket: caller is not the owner");
        _;
    }

    modifier nonReentrant() {
        require(lock_ == 1, "StorageMarket: reentrant call");
        lock_ = 2;
        _;
        lock_ = 1;
    }

    /// The deployer is the owner and the heft oracle. Default prices suit a devnet:
    /// 1 szabo per GB-day, 10 szabo per GB of traffic, 1 ether minimum stake, 1 ether of
    /// stake per bound node, 1 day unstake delay.
    constructor() {
        owner = msg.sender;
        heftOracle = msg.sender;
        pricePerGBDay = 1e12;
        pricePerGBTraffic = 1e13;
        minStake = 1 ether;
        stakePerNode = 1 ether;
        unstakeDelay = 1 days;
        emit OwnershipTransferred(address(0), msg.sender);
        emit HeftOracleSet(msg.sender);
        emit PricesSet(pricePerGBDay, pricePerGBTraffic, minStake, stakePerNode, unstakeDelay);
    }

    // =====================================================================================
    // Type 1: stake
    // =====================================================================================

    /// Adds msg.value to the sender's stake. The resulting stake must reach minStake.
    function stake() external payable {
        require(msg.value > 0, "StorageMarket: stake amount must be positive");
        uint256 newStake = stake_[msg.sender] + msg.value;
        require(
            newStake >= minStake,
            string.concat("StorageMarket: stake below minimum: have ", _str(newStake),
                          " wei, need ", _str(minStake))
        );
        stake_[msg.sender] = newStake;
        totalStake += msg.value;
        if (!isStaker_[msg.sender]) {
            isStaker_[msg.sender] = true;
            stakers_.push(msg.sender);
        }
        emit Staked(msg.sender, msg.value, newStake);
    }

    // =====================================================================================
    // Type 2: heft sync
    // =====================================================================================

    /// Sets `node`'s heft to the absolute value `heft` (not a delta). Heft oracle only. Every
    /// sync is appended to the node's heft log (heftLogLength / heftLogAt).
    function syncHeft(address node, uint256 heft) external {
        require(msg.sender == heftOracle, "StorageMarket: caller is not the heft oracle");
        require(node != address(0), "StorageMarket: heft node is the zero address");
        uint256 previous = heft_[node];
        heft_[node] = heft;
        totalHeft = totalHeft - previous + heft;
        heftLog_[node].push(HeftEntry(heft, uint64(block.number), uint64(block.timestamp)));
        emit HeftSynced(node, heft, previous);
    }

    // =====================================================================================
    // Type 3: buy bucket space
    // =====================================================================================

    /// Buys a bucket of `sizeGB` GB from `start` to `end` (unix seconds) with `backup`
    /// copies. Cost = pricePerGBDay * sizeGB * ceil((end - start) / 1 day).
    function buyBucketSpace(bytes32 bucketId, uint64 sizeGB, uint64 start, uint64 end,
                            uint8 backup) external payable nonReentrant {
        require(bucketId != bytes32(0), "StorageMarket: bucket id must not be zero");
        require(buckets_[bucketId].owner == address(0), "StorageMarket: bucket id already exists");
        require(sizeGB > 0, "StorageMarket: bucket size must be positive");
        require(end > start, "StorageMarket: bucket end must be after its start");
        require(end > block.timestamp, "StorageMarket: bucket end is in the past");
        uint256 cost = quoteSpace(sizeGB, start, end);
        _requirePayment(cost);

        buckets_[bucketId] = Bucket(msg.sender, sizeGB, 0, start, end, backup, 0);
        bucketsOf_[msg.sender].push(bucketId);
        revenue += cost;
        emit BucketBought(bucketId, msg.sender, sizeGB, start, end, backup, cost);
        _refundExcess(cost);
    }

    // =====================================================================================
    // Type 4: buy traffic
    // =====================================================================================

    /// Adds `gb` GB to the sender's traffic. Cost = pricePerGBTraffic * gb.
    function buyTraffic(uint64 gb) external payable nonReentrant {
        require(gb > 0, "StorageMarket: traffic amount must be positive");
        uint256 cost = quoteTraffic(gb);
        _requirePayment(cost);
        uint64 newTraffic = traffic_[msg.sender] + gb;
        traffic_[msg.sender] = newTraffic;
        revenue += cost;
        emit TrafficBought(msg.sender, gb, newTraffic, cost);
        _refundExcess(cost);
    }

    // =====================================================================================
    // Type 8: bind node
    // =====================================================================================

    /// Binds farmer node `nodeId` to the sender's stake.
    ///
    /// Genaro's node id is RIPEMD160(SHA256(compressed node public key)) and the node key
    /// signs keccak256(nodeId || staker address). The contract cannot go from an ecrecover'd
    /// address back to a public key, so the caller passes the key itself:
    ///   nodePubKey: 64 bytes, uncompressed x || y (no 0x04 prefix);
    ///   signature:  65 bytes r || s || v over the raw digest
    ///               keccak256(abi.encodePacked(nodeId, msg.sender)) (40 bytes hashed,
    ///               no "\x19Ethereum Signed Message" prefix), v in {0, 1, 27, 28}, low s.
    /// Checked: ecrecover(digest) == address(keccak256(nodePubKey)) and
    /// ripemd160(sha256(compressed nodePubKey)) == nodeId.
    /// Limit: at most stake / stakePerNode nodes per staker; a node has one staker.
    function bindNode(bytes20 nodeId, bytes calldata nodePubKey, bytes calldata signature)
        external
    {
        require(
            nodePubKey.length == 64,
            string.concat("StorageMarket: node public key must be 64 bytes (x || y), got ",
                          _str(nodePubKey.length))
        );
        require(
            signature.length == 65,
            string.concat("StorageMarket: node signature must be 65 bytes (r || s || v), got ",
                          _str(signature.length))
        );
        address bound = nodeOwner_[nodeId];
        require(bound != msg.sender, "StorageMarket: node already bound to the caller");
        require(bound == address(0), "StorageMarket: node already bound to another staker");
        require(_nodeIdOf(nodePubKey) == nodeId, "StorageMarket: node id does not match public key");

        bytes32 digest = keccak256(abi.encodePacked(nodeId, msg.sender));
        address signer = _recover(digest, signature);
        require(
            signer != address(0) && signer == address(uint160(uint256(keccak256(nodePubKey)))),
            "StorageMarket: bad node signature"
        );

        uint256 staked = stake_[msg.sender];
        require(
            staked >= minStake,
            string.concat("StorageMarket: stake below minimum: have ", _str(staked),
                          " wei, need ", _str(minStake))
        );
        uint256 allowed = staked / stakePerNode;
        uint256 count = nodes_[msg.sender].length;
        require(
            count + 1 <= allowed,
            string.concat("StorageMarket: stake allows ", _str(allowed), " nodes, ",
                          _str(count), " already bound")
        );

        nodeOwner_[nodeId] = msg.sender;
        nodes_[msg.sender].push(nodeId);
        nodeIndexPlusOne_[nodeId] = count + 1;
        emit NodeBound(msg.sender, nodeId);
    }

    // =====================================================================================
    // Type 11: unstake (delayed)
    // =====================================================================================

    /// Moves `amount` from the sender's stake to a pending release. The stake left must be
    /// zero or at least minStake, and must still cover every bound node (unbind first). The
    /// pending amount (including earlier pending amounts) becomes withdrawable at
    /// now + unstakeDelay: a new request restarts the delay.
    function unstake(uint256 amount) external {
        require(amount > 0, "StorageMarket: unstake amount must be positive");
        uint256 staked = stake_[msg.sender];
        require(
            amount <= staked,
            string.concat("StorageMarket: unstake exceeds stake: have ", _str(staked),
                          " wei, asked ", _str(amount))
        );
        uint256 remaining = staked - amount;
        require(
            remaining == 0 || remaining >= minStake,
            "StorageMarket: remaining stake would be below minimum; unstake all or less"
        );
        uint256 count = nodes_[msg.sender].length;
        uint256 allowed = remaining / stakePerNode;
        require(
            count <= allowed,
            string.concat("StorageMarket: unbind nodes first: ", _str(count),
                          " bound, remaining stake allows ", _str(allowed))
        );

        stake_[msg.sender] = remaining;
        totalStake -= amount;
        PendingUnstake storage p = pendingUnstake_[msg.sender];
        p.amount += amount;
        p.releaseAt = uint64(block.timestamp) + unstakeDelay;
        emit UnstakeRequested(msg.sender, amount, p.amount, p.releaseAt);
    }

    /// Pays out the sender's pending unstake once its delay has passed.
    function withdrawUnstaked() external nonReentrant {
        PendingUnstake storage p = pendingUnstake_[msg.sender];
        uint256 amount = p.amount;
        require(amount > 0, "StorageMarket: nothing to withdraw");
        require(
            block.timestamp >= p.releaseAt,
            string.concat("StorageMarket: unstake still locked until ", _str(p.releaseAt))
        );
        delete pendingUnstake_[msg.sender];
        emit UnstakeWithdrawn(msg.sender, amount);
        _send(msg.sender, amount);
    }

    // =====================================================================================
    // Type 14: unbind node
    // =====================================================================================

    /// Unbinds `nodeId`; only the staker that bound it may.
    function unbindNode(bytes20 nodeId) external {
        address bound = nodeOwner_[nodeId];
        require(bound != address(0), "StorageMarket: node is not bound");
        require(bound == msg.sender, "StorageMarket: node is bound to another staker");
        bytes20[] storage list = nodes_[msg.sender];
        uint256 index = nodeIndexPlusOne_[nodeId] - 1;
        bytes20 last = list[list.length - 1];
        list[index] = last;
        nodeIndexPlusOne_[last] = index + 1;
        list.pop();
        delete nodeIndexPlusOne_[nodeId];
        delete nodeOwner_[nodeId];
        emit NodeUnbound(msg.sender, nodeId);
    }

    // =====================================================================================
    // Type 41: bucket supplement
    // =====================================================================================

    /// Grows an unexpired bucket by `addSizeGB` GB and/or extends it by `addDays` days.
    /// Cost = pricePerGBDay * (addSizeGB * remainingDays + (sizeGB + addSizeGB) * addDays),
    /// remainingDays = ceil((end - max(now, start)) / 1 day). Bucket owner only.
    function bucketSupplement(bytes32 bucketId, uint64 addSizeGB, uint64 addDays)
        external
        payable
        nonReentrant
    {
        Bucket storage b = buckets_[bucketId];
        require(b.owner != address(0), "StorageMarket: no such bucket");
        require(b.owner == msg.sender, "StorageMarket: caller is not the bucket owner");
        require(block.timestamp < b.end, "StorageMarket: bucket has expired");
        require(addSizeGB > 0 || addDays > 0, "StorageMarket: supplement adds nothing");
        uint256 cost = quoteSupplement(bucketId, addSizeGB, addDays);
        _requirePayment(cost);

        b.sizeGB += addSizeGB;
        b.end += uint64(uint256(addDays) * SECONDS_PER_DAY);
        revenue += cost;
        emit BucketSupplemented(bucketId, msg.sender, addSizeGB, addDays, b.sizeGB, b.end, cost);
        _refundExcess(cost);
    }

    // =====================================================================================
    // Type 12: prices and roles (owner only)
    // =====================================================================================

    function setPrices(uint256 newPricePerGBDay, uint256 newPricePerGBTraffic,
                       uint256 newMinStake, uint256 newStakePerNode, uint64 newUnstakeDelay)
        external
        onlyOwner
    {
        require(newStakePerNode > 0, "StorageMarket: stake per node must be positive");
        pricePerGBDay = newPricePerGBDay;
        pricePerGBTraffic = newPricePerGBTraffic;
        minStake = newMinStake;
        stakePerNode = newStakePerNode;
        unstakeDelay = newUnstakeDelay;
        emit PricesSet(newPricePerGBDay, newPricePerGBTraffic, newMinStake, newStakePerNode,
                       newUnstakeDelay);
    }

    function setHeftOracle(address oracle) external onlyOwner {
        require(oracle != address(0), "StorageMarket: heft oracle is the zero address");
        heftOracle = oracle;
        emit HeftOracleSet(oracle);
    }

    function transferOwnership(address newOwner) external onlyOwner {
        require(newOwner != address(0), "StorageMarket: new owner is the zero address");
        emit OwnershipTransferred(owner, newOwner);
        owner = newOwner;
    }

    /// Sends `amount` of the collected fees (never stakes) to `to`.
    function withdrawRevenue(address to, uint256 amount) external onlyOwner nonReentrant {
        require(to != address(0), "StorageMarket: revenue recipient is the zero address");
        require(
            amount <= revenue,
            string.concat("StorageMarket: revenue is ", _str(revenue), " wei, asked ",
                          _str(amount))
        );
        revenue -= amount;
        emit RevenueWithdrawn(to, amount);
        _send(to, amount);
    }

    // =====================================================================================
    // SPoR: file commitments and audit results
    // =====================================================================================

    /// Records a file's SPoR commitment in a bucket and charges `sizeBytes` (the bytes the
    /// client stores for it, as it accounts them) against the bucket's size. Bucket owner
    /// only; the bucket must not have expired; a file id is registered once per bucket.
    function registerFile(bytes32 bucketId, bytes32 fileId, bytes32 commitmentRoot,
                          uint32 shardCount, uint64 sizeBytes) external {
        Bucket storage b = buckets_[bucketId];
        require(b.owner != address(0), "StorageMarket: no such bucket");
        require(b.owner == msg.sender, "StorageMarket: caller is not the bucket owner");
        require(block.timestamp < b.end, "StorageMarket: bucket has expired");
        require(fileId != bytes32(0), "StorageMarket: file id must not be zero");
        require(shardCount > 0, "StorageMarket: shard count must be positive");
        FileRecord storage f = files_[bucketId][fileId];
        require(f.registeredAt == 0, "StorageMarket: file already registered in bucket");
        uint256 capacity = uint256(b.sizeGB) * BYTES_PER_GB;
        uint256 used = uint256(b.usedBytes) + sizeBytes;
        require(
            used <= capacity,
            string.concat("StorageMarket: bucket full: ", _str(b.usedBytes), " of ",
                          _str(capacity), " bytes used, file needs ", _str(sizeBytes))
        );
        b.usedBytes = uint64(used);
        b.fileCount += 1;
        files_[bucketId][fileId] =
            FileRecord(commitmentRoot, shardCount, sizeBytes, uint64(block.timestamp));
        emit FileRegistered(bucketId, fileId, commitmentRoot, shardCount, sizeBytes);
    }

    /// Removes a registered file and gives its bytes back to the bucket. Bucket owner only
    /// (also after expiry).
    function removeFile(bytes32 bucketId, bytes32 fileId) external {
        Bucket storage b = buckets_[bucketId];
        require(b.owner != address(0), "StorageMarket: no such bucket");
        require(b.owner == msg.sender, "StorageMarket: caller is not the bucket owner");
        FileRecord storage f = files_[bucketId][fileId];
        require(f.registeredAt != 0, "StorageMarket: file not registered in bucket");
        uint64 size = f.sizeBytes;
        b.usedBytes -= size;
        b.fileCount -= 1;
        delete files_[bucketId][fileId];
        emit FileRemoved(bucketId, fileId, size);
    }

    /// Adds audit outcomes: for each i, `passed[i]` passed and `failed[i]` failed challenges
    /// of node `nodeIds[i]`. Reporters are paying users: any address that has bought at
    /// least one bucket. Counters are kept per node (auditStats) and per reporter and node
    /// (auditStatsBy) so the heft oracle can weigh reporters. Nodes need not be bound.
    function recordAudits(bytes20[] calldata nodeIds, uint32[] calldata passed,
                          uint32[] calldata failed) external {
        require(bucketsOf_[msg.sender].length > 0,
                "StorageMarket: only bucket owners may report audits");
        uint256 n = nodeIds.length;
        require(n > 0, "StorageMarket: empty audit batch");
        require(passed.length == n && failed.length == n,
                "StorageMarket: audit arrays differ in length");
        require(
            n <= MAX_AUDIT_BATCH,
            string.concat("StorageMarket: audit batch too large: ", _str(n), " > ",
                          _str(MAX_AUDIT_BATCH))
        );
        for (uint256 i = 0; i < n; ++i) {
            require(passed[i] > 0 || failed[i] > 0, "StorageMarket: audit entry counts nothing");
            AuditCounters storage total = audits_[nodeIds[i]];
            total.passed += passed[i];
            total.failed += failed[i];
            total.lastReportAt = uint64(block.timestamp);
            AuditCounters storage mine = auditsBy_[msg.sender][nodeIds[i]];
            mine.passed += passed[i];
            mine.failed += failed[i];
            mine.lastReportAt = uint64(block.timestamp);
            emit AuditRecorded(msg.sender, nodeIds[i], passed[i], failed[i]);
        }
    }

    // =====================================================================================
    // Views
    // =====================================================================================

    /// A missing bucket reads as all zeros (owner == address(0)).
    function bucket(bytes32 bucketId)
        external
        view
        returns (address bucketOwner, uint64 sizeGB, uint64 usedBytes, uint64 start, uint64 end,
                 uint8 backup)
    {
        Bucket storage b = buckets_[bucketId];
        return (b.owner, b.sizeGB, b.usedBytes, b.start, b.end, b.backup);
    }

    function bucketFileCount(bytes32 bucketId) external view returns (uint32) {
        return buckets_[bucketId].fileCount;
    }

    function bucketsOf(address account) external view returns (bytes32[] memory) {
        return bucketsOf_[account];
    }

    /// A missing file reads as all zeros (registeredAt == 0).
    function fileOf(bytes32 bucketId, bytes32 fileId)
        external
        view
        returns (bytes32 commitmentRoot, uint32 shardCount, uint64 sizeBytes, uint64 registeredAt)
    {
        FileRecord storage f = files_[bucketId][fileId];
        return (f.commitmentRoot, f.shardCount, f.sizeBytes, f.registeredAt);
    }

    /// Traffic bought, in GB.
    function trafficOf(address account) external view returns (uint64) {
        return traffic_[account];
    }

    /// Active stake in wei (excludes pending unstakes).
    function stakeOf(address account) external view returns (uint256) {
        return stake_[account];
    }

    function pendingUnstakeOf(address account)
        external
        view
        returns (uint256 amount, uint64 releaseAt)
    {
        PendingUnstake storage p = pendingUnstake_[account];
        return (p.amount, p.releaseAt);
    }

    /// Every address that has ever staked (some may have unstaked to zero since).
    function stakers() external view returns (address[] memory) {
        return stakers_;
    }

    function heftOf(address account) external view returns (uint256) {
        return heft_[account];
    }

    function heftLogLength(address account) external view returns (uint256) {
        return heftLog_[account].length;
    }

    function heftLogAt(address account, uint256 index)
        external
        view
        returns (uint256 heft, uint64 blockNumber, uint64 timestamp)
    {
        require(index < heftLog_[account].length, "StorageMarket: heft log index out of range");
        HeftEntry storage e = heftLog_[account][index];
        return (e.heft, e.blockNumber, e.timestamp);
    }

    function nodesOf(address account) external view returns (bytes20[] memory) {
        return nodes_[account];
    }

    /// address(0) when the node is not bound.
    function nodeOwner(bytes20 nodeId) external view returns (address) {
        return nodeOwner_[nodeId];
    }

    /// How many nodes `account`'s current stake allows.
    function maxNodesOf(address account) external view returns (uint256) {
        return stake_[account] / stakePerNode;
    }

    /// Committee ranking point, scaled by 1e18: stake/totalStake + heft/totalHeft, and zero
    /// for an address without heft. Ranges over [0, 2e18].
    function committeePoints(address account) external view returns (uint256) {
        uint256 h = heft_[account];
        if (h == 0) return 0;
        uint256 points = (h * POINTS_SCALE) / totalHeft;
        if (totalStake > 0) points += (stake_[account] * POINTS_SCALE) / totalStake;
        return points;
    }

    function auditStats(bytes20 nodeId)
        external
        view
        returns (uint64 passed, uint64 failed, uint64 lastReportAt)
    {
        AuditCounters storage a = audits_[nodeId];
        return (a.passed, a.failed, a.lastReportAt);
    }

    function auditStatsBy(address reporter, bytes20 nodeId)
        external
        view
        returns (uint64 passed, uint64 failed, uint64 lastReportAt)
    {
        AuditCounters storage a = auditsBy_[reporter][nodeId];
        return (a.passed, a.failed, a.lastReportAt);
    }

    /// Wei for a new bucket; reverts on end <= start.
    function quoteSpace(uint64 sizeGB, uint64 start, uint64 end) public view returns (uint256) {
        require(end > start, "StorageMarket: bucket end must be after its start");
        uint256 numDays = (uint256(end) - start + SECONDS_PER_DAY - 1) / SECONDS_PER_DAY;
        return pricePerGBDay * sizeGB * numDays;
    }

    function quoteTraffic(uint64 gb) public view returns (uint256) {
        return pricePerGBTraffic * gb;
    }

    /// Wei for a supplement at the current block time (the cost only falls as time passes,
    /// so a quote read from the latest block is enough for the next one).
    function quoteSupplement(bytes32 bucketId, uint64 addSizeGB, uint64 addDays)
        public
        view
        returns (uint256)
    {
        Bucket storage b = buckets_[bucketId];
        require(b.owner != address(0), "StorageMarket: no such bucket");
        uint256 from = block.timestamp > b.start ? block.timestamp : b.start;
        uint256 remainingDays =
            b.end > from ? (uint256(b.end) - from + SECONDS_PER_DAY - 1) / SECONDS_PER_DAY : 0;
        return pricePerGBDay *
            (uint256(addSizeGB) * remainingDays + (uint256(b.sizeGB) + addSizeGB) * addDays);
    }

    // =====================================================================================
    // Internals
    // =====================================================================================

    function _requirePayment(uint256 cost) private view {
        require(
            msg.value >= cost,
            string.concat("StorageMarket: insufficient payment: need ", _str(cost), " wei, got ",
                          _str(msg.value))
        );
    }

    function _refundExcess(uint256 cost) private {
        if (msg.value > cost) _send(msg.sender, msg.value - cost);
    }

    function _send(address to, uint256 amount) private {
        (bool ok, ) = payable(to).call{value: amount}("");
        require(ok, "StorageMarket: transfer failed");
    }

    // RIPEMD160(SHA256(compressed key)), the key given as 64 bytes x || y.
    function _nodeIdOf(bytes calldata pubKey) private pure returns (bytes20) {
        bytes32 x = bytes32(pubKey[0:32]);
        uint8 prefix = (uint8(pubKey[63]) & 1) == 1 ? 0x03 : 0x02;
        return ripemd160(abi.encodePacked(sha256(abi.encodePacked(bytes1(prefix), x))));
    }

    function _recover(bytes32 digest, bytes calldata sig) private pure returns (address) {
        bytes32 r = bytes32(sig[0:32]);
        bytes32 s = bytes32(sig[32:64]);
        uint8 v = uint8(sig[64]);
        if (v < 27) v += 27;
        if (v != 27 && v != 28) return address(0);
        if (uint256(s) > SECP256K1_N_HALF) return address(0);
        return ecrecover(digest, v, r, s);
    }

    function _str(uint256 value) private pure returns (string memory) {
        if (value == 0) return "0";
        uint256 digits;
        for (uint256 t = value; t != 0; t /= 10) ++digits;
        bytes memory out = new bytes(digits);
        for (; value != 0; value /= 10) out[--digits] = bytes1(uint8(48 + (value % 10)));
        return string(out);
    }
}
