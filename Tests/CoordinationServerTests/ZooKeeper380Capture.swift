// Output of Apache ZooKeeper 3.8.0 (Debian package, standalone, `4lw.commands.whitelist=*`) captured with
// `echo <word> | nc -q1 127.0.0.1 21810` while two kazoo sessions held watches and an ephemeral node;
// `fresh*` come from a second server just started with the default whitelist. The renderer tests rebuild
// these states as snapshots and expect the same bytes.
enum ZooKeeper380Capture {
    static let srvr = """
        Zookeeper version: 3.8.0-${mvngit.commit.id}, built on 2024-12-29 17:54 UTC
        Latency min/avg/max: 0/2.4375/11
        Received: 19
        Sent: 18
        Connections: 3
        Outstanding: 0
        Zxid: 0x6
        Mode: standalone
        Node count: 9
        """ + "\n"

    static let stat = """
        Zookeeper version: 3.8.0-${mvngit.commit.id}, built on 2024-12-29 17:54 UTC
        Clients:
         /127.0.0.1:54214[1](queued=0,recved=72,sent=72)
         /127.0.0.1:54222[1](queued=0,recved=47,sent=47)
         /127.0.0.1:46794[0](queued=0,recved=1,sent=0)

        Latency min/avg/max: 0/0.6838/4
        Received: 128
        Sent: 125
        Connections: 3
        Outstanding: 0
        Zxid: 0x6
        Mode: standalone
        Node count: 9
        """ + "\n"

    static let cons = """
         /127.0.0.1:54214[1](queued=0,recved=72,sent=72,sid=0x100000ede4a0000,lop=PING,est=1795623872931,to=10000,lzxid=0x6,lresp=1237705,llat=1,minlat=0,avglat=0,maxlat=4)
         /127.0.0.1:54222[1](queued=0,recved=47,sent=47,sid=0x100000ede4a0001,lop=PING,est=1795623872994,to=15000,lzxid=0x6,lresp=1235829,llat=1,minlat=0,avglat=0,maxlat=4)
         /127.0.0.1:46770[0](queued=0,recved=1,sent=0)

        """ + "\n"

    static let conf = """
        clientPort=21810
        secureClientPort=-1
        dataDir=/tmp/zkref4lw/data/version-2
        dataDirSize=67109337
        dataLogDir=/tmp/zkref4lw/data/version-2
        dataLogSize=67109337
        tickTime=2000
        maxClientCnxns=60
        minSessionTimeout=4000
        maxSessionTimeout=40000
        clientPortListenBacklog=-1
        serverId=0
        """ + "\n"

    static let envi = """
        Environment:
        zookeeper.version=3.8.0-${mvngit.commit.id}, built on 2024-12-29 17:54 UTC
        host.name=localhost
        java.version=17.0.15
        java.vendor=Debian
        java.home=/usr/lib/jvm/java-17-openjdk-amd64
        java.class.path=/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar
        java.library.path=/usr/java/packages/lib:/usr/lib/x86_64-linux-gnu/jni:/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:/usr/lib/jni:/lib:/usr/lib
        java.io.tmpdir=/tmp
        java.compiler=<NA>
        os.name=Linux
        os.arch=amd64
        os.version=6.18.44-fc-v782
        user.name=root
        user.home=/root
        user.dir=/tmp/zkref4lw
        os.memory.free=368MB
        os.memory.max=6028MB
        os.memory.total=388MB
        """ + "\n"

    static let wchs = """
        2 connections watching 3 paths
        Total watches:4
        """ + "\n"

    static let wchc = """
        0x100000ede4a0000
        \t/nothere
        \t/app/a
        0x100000ede4a0001
        \t/app/b
        \t/app/a

        """ + "\n"

    static let wchp = """
        /nothere
        \t0x100000ede4a0000
        /app/b
        \t0x100000ede4a0001
        /app/a
        \t0x100000ede4a0000
        \t0x100000ede4a0001

        """ + "\n"

    static let dump = """
        SessionTracker dump:
        Session Sets (5)/(2):
        0 expire at Wed Nov 25 16:28:35 UTC 2026:
        0 expire at Wed Nov 25 16:28:37 UTC 2026:
        0 expire at Wed Nov 25 16:28:41 UTC 2026:
        1 expire at Wed Nov 25 16:28:43 UTC 2026:
        \t0x100000ede4a0000
        1 expire at Wed Nov 25 16:28:47 UTC 2026:
        \t0x100000ede4a0001
        ephemeral nodes dump:
        Sessions with Ephemerals (1):
        0x100000ede4a0000:
        \t/app/eph
        Connections dump:
        Connections Sets (3)/(3):
        0 expire at Wed Nov 25 16:28:35 UTC 2026:
        2 expire at Wed Nov 25 16:28:45 UTC 2026:
        \tip: /127.0.0.1:46782 sessionId: 0x0
        \tip: /127.0.0.1:54214 sessionId: 0x100000ede4a0000
        1 expire at Wed Nov 25 16:28:55 UTC 2026:
        \tip: /127.0.0.1:54222 sessionId: 0x100000ede4a0001
        """ + "\n"

    static let dirs = """
        datadir_size: 67109337
        logdir_size: 67109337
        """ + "\n"

    static let mntr = """
        zk_version\t3.8.0-${mvngit.commit.id}, built on 2024-12-29 17:54 UTC
        zk_server_state\tstandalone
        zk_ephemerals_count\t1
        zk_num_alive_connections\t3
        zk_avg_latency\t2.3529
        zk_outstanding_requests\t0
        zk_znode_count\t9
        zk_global_sessions\t2
        zk_non_mtls_remote_conn_count\t0
        zk_last_client_response_size\t16
        zk_packets_sent\t21
        zk_packets_received\t22
        zk_max_client_response_size\t188
        zk_connection_drop_probability\t0.0
        zk_watch_count\t5
        zk_auth_failed_count\t0
        zk_min_latency\t0
        zk_max_file_descriptor_count\t20000
        zk_approximate_data_size\t173
        zk_open_file_descriptor_count\t42
        zk_local_sessions\t0
        zk_uptime\t31876
        zk_max_latency\t11
        zk_outstanding_tls_handshake\t0
        zk_min_client_response_size\t16
        zk_non_mtls_local_conn_count\t0
        zk_proposal_count\t0
        zk_watch_bytes\t0
        zk_outstanding_changes_removed\t8
        zk_throttled_ops\t0
        zk_stale_requests_dropped\t0
        zk_large_requests_rejected\t0
        zk_insecure_admin_count\t0
        zk_connection_rejected\t0
        zk_cnxn_closed_without_zk_server_running\t0
        zk_sessionless_connections_expired\t0
        zk_looking_count\t0
        zk_dead_watchers_queued\t0
        zk_stale_requests\t0
        zk_connection_drop_count\t0
        zk_learner_proposal_received_count\t0
        zk_digest_mismatches_count\t0
        zk_dead_watchers_cleared\t0
        zk_response_packet_cache_hits\t1
        zk_bytes_received_count\t664
        zk_add_dead_watcher_stall_time\t0
        zk_request_throttle_wait_count\t0
        zk_requests_not_forwarded_to_commit_processor\t0
        zk_response_packet_cache_misses\t2
        zk_ensemble_auth_success\t0
        zk_prep_processor_request_queued\t17
        zk_learner_commit_received_count\t0
        zk_stale_replies\t0
        zk_connection_request_count\t2
        zk_response_bytes\t637
        zk_ensemble_auth_fail\t0
        zk_diff_count\t0
        zk_response_packet_get_children_cache_misses\t0
        zk_connection_revalidate_count\t0
        zk_quit_leading_due_to_disloyal_voter\t0
        zk_snap_count\t0
        zk_unrecoverable_error_count\t0
        zk_unsuccessful_handshake\t0
        zk_commit_count\t0
        zk_stale_sessions_expired\t0
        zk_response_packet_get_children_cache_hits\t0
        zk_sync_processor_request_queued\t17
        zk_outstanding_changes_queued\t8
        zk_request_commit_queued\t0
        zk_ensemble_auth_skip\t0
        zk_skip_learner_request_to_next_processor_count\t0
        zk_tls_handshake_exceeded\t0
        zk_revalidate_count\t0
        zk_avg_socket_closing_time\t0.0
        zk_min_socket_closing_time\t0
        zk_max_socket_closing_time\t0
        zk_cnt_socket_closing_time\t0
        zk_sum_socket_closing_time\t0
        zk_avg_proposal_process_time\t0.1176
        zk_min_proposal_process_time\t0
        zk_max_proposal_process_time\t1
        zk_cnt_proposal_process_time\t17
        zk_sum_proposal_process_time\t2
        zk_avg_leader_unavailable_time\t0.0
        zk_min_leader_unavailable_time\t0
        zk_max_leader_unavailable_time\t0
        zk_cnt_leader_unavailable_time\t0
        zk_sum_leader_unavailable_time\t0
        zk_avg_node_created_watch_count\t0.0
        zk_min_node_created_watch_count\t0
        zk_max_node_created_watch_count\t0
        zk_cnt_node_created_watch_count\t0
        zk_sum_node_created_watch_count\t0
        zk_avg_session_queues_drained\t0.0
        zk_min_session_queues_drained\t0
        zk_max_session_queues_drained\t0
        zk_cnt_session_queues_drained\t0
        zk_sum_session_queues_drained\t0
        zk_avg_write_commit_proc_req_queued\t0.0
        zk_min_write_commit_proc_req_queued\t0
        zk_max_write_commit_proc_req_queued\t0
        zk_cnt_write_commit_proc_req_queued\t0
        zk_sum_write_commit_proc_req_queued\t0
        zk_avg_connection_token_deficit\t0.0
        zk_min_connection_token_deficit\t0
        zk_max_connection_token_deficit\t0
        zk_cnt_connection_token_deficit\t2
        zk_sum_connection_token_deficit\t0
        zk_avg_read_commit_proc_req_queued\t0.0
        zk_min_read_commit_proc_req_queued\t0
        zk_max_read_commit_proc_req_queued\t0
        zk_cnt_read_commit_proc_req_queued\t0
        zk_sum_read_commit_proc_req_queued\t0
        zk_avg_node_deleted_watch_count\t0.0
        zk_min_node_deleted_watch_count\t0
        zk_max_node_deleted_watch_count\t0
        zk_cnt_node_deleted_watch_count\t0
        zk_sum_node_deleted_watch_count\t0
        zk_avg_startup_txns_load_time\t0.0
        zk_min_startup_txns_load_time\t0
        zk_max_startup_txns_load_time\t0
        zk_cnt_startup_txns_load_time\t0
        zk_sum_startup_txns_load_time\t0
        zk_avg_sync_processor_queue_size\t0.0
        zk_min_sync_processor_queue_size\t0
        zk_max_sync_processor_queue_size\t0
        zk_cnt_sync_processor_queue_size\t18
        zk_sum_sync_processor_queue_size\t0
        zk_avg_follower_sync_time\t0.0
        zk_min_follower_sync_time\t0
        zk_max_follower_sync_time\t0
        zk_cnt_follower_sync_time\t0
        zk_sum_follower_sync_time\t0
        zk_avg_prep_processor_queue_size\t0.0
        zk_min_prep_processor_queue_size\t0
        zk_max_prep_processor_queue_size\t0
        zk_cnt_prep_processor_queue_size\t18
        zk_sum_prep_processor_queue_size\t0
        zk_avg_fsynctime\t0.1667
        zk_min_fsynctime\t0
        zk_max_fsynctime\t1
        zk_cnt_fsynctime\t6
        zk_sum_fsynctime\t1
        zk_avg_inflight_snap_count\t0.0
        zk_min_inflight_snap_count\t0
        zk_max_inflight_snap_count\t0
        zk_cnt_inflight_snap_count\t0
        zk_sum_inflight_snap_count\t0
        zk_avg_reads_issued_from_session_queue\t0.0
        zk_min_reads_issued_from_session_queue\t0
        zk_max_reads_issued_from_session_queue\t0
        zk_cnt_reads_issued_from_session_queue\t0
        zk_sum_reads_issued_from_session_queue\t0
        zk_avg_learner_request_processor_queue_size\t0.0
        zk_min_learner_request_processor_queue_size\t0
        zk_max_learner_request_processor_queue_size\t0
        zk_cnt_learner_request_processor_queue_size\t0
        zk_sum_learner_request_processor_queue_size\t0
        zk_avg_snapshottime\t1.0
        zk_min_snapshottime\t1
        zk_max_snapshottime\t1
        zk_cnt_snapshottime\t1
        zk_sum_snapshottime\t1
        zk_avg_unavailable_time\t0.0
        zk_min_unavailable_time\t0
        zk_max_unavailable_time\t0
        zk_cnt_unavailable_time\t0
        zk_sum_unavailable_time\t0
        zk_avg_startup_txns_loaded\t0.0
        zk_min_startup_txns_loaded\t0
        zk_max_startup_txns_loaded\t0
        zk_cnt_startup_txns_loaded\t0
        zk_sum_startup_txns_loaded\t0
        zk_avg_reads_after_write_in_session_queue\t0.0
        zk_min_reads_after_write_in_session_queue\t0
        zk_max_reads_after_write_in_session_queue\t0
        zk_cnt_reads_after_write_in_session_queue\t0
        zk_sum_reads_after_write_in_session_queue\t0
        zk_avg_requests_in_session_queue\t0.0
        zk_min_requests_in_session_queue\t0
        zk_max_requests_in_session_queue\t0
        zk_cnt_requests_in_session_queue\t0
        zk_sum_requests_in_session_queue\t0
        zk_avg_write_commit_proc_issued\t0.0
        zk_min_write_commit_proc_issued\t0
        zk_max_write_commit_proc_issued\t0
        zk_cnt_write_commit_proc_issued\t0
        zk_sum_write_commit_proc_issued\t0
        zk_avg_prep_process_time\t0.3529
        zk_min_prep_process_time\t0
        zk_max_prep_process_time\t3
        zk_cnt_prep_process_time\t17
        zk_sum_prep_process_time\t6
        zk_avg_pending_session_queue_size\t0.0
        zk_min_pending_session_queue_size\t0
        zk_max_pending_session_queue_size\t0
        zk_cnt_pending_session_queue_size\t0
        zk_sum_pending_session_queue_size\t0
        zk_avg_time_waiting_empty_pool_in_commit_processor_read_ms\t0.0
        zk_min_time_waiting_empty_pool_in_commit_processor_read_ms\t0
        zk_max_time_waiting_empty_pool_in_commit_processor_read_ms\t0
        zk_cnt_time_waiting_empty_pool_in_commit_processor_read_ms\t0
        zk_sum_time_waiting_empty_pool_in_commit_processor_read_ms\t0
        zk_avg_commit_process_time\t0.0
        zk_min_commit_process_time\t0
        zk_max_commit_process_time\t0
        zk_cnt_commit_process_time\t0
        zk_sum_commit_process_time\t0
        zk_avg_dbinittime\t21.0
        zk_min_dbinittime\t21
        zk_max_dbinittime\t21
        zk_cnt_dbinittime\t1
        zk_sum_dbinittime\t21
        zk_avg_inflight_diff_count\t0.0
        zk_min_inflight_diff_count\t0
        zk_max_inflight_diff_count\t0
        zk_cnt_inflight_diff_count\t0
        zk_sum_inflight_diff_count\t0
        zk_avg_netty_queued_buffer_capacity\t0.0
        zk_min_netty_queued_buffer_capacity\t0
        zk_max_netty_queued_buffer_capacity\t0
        zk_cnt_netty_queued_buffer_capacity\t0
        zk_sum_netty_queued_buffer_capacity\t0
        zk_avg_election_time\t0.0
        zk_min_election_time\t0
        zk_max_election_time\t0
        zk_cnt_election_time\t0
        zk_sum_election_time\t0
        zk_avg_commit_commit_proc_req_queued\t0.0
        zk_min_commit_commit_proc_req_queued\t0
        zk_max_commit_commit_proc_req_queued\t0
        zk_cnt_commit_commit_proc_req_queued\t0
        zk_sum_commit_commit_proc_req_queued\t0
        zk_avg_sync_processor_batch_size\t1.0
        zk_min_sync_processor_batch_size\t1
        zk_max_sync_processor_batch_size\t1
        zk_cnt_sync_processor_batch_size\t6
        zk_sum_sync_processor_batch_size\t6
        zk_avg_node_children_watch_count\t0.0
        zk_min_node_children_watch_count\t0
        zk_max_node_children_watch_count\t0
        zk_cnt_node_children_watch_count\t0
        zk_sum_node_children_watch_count\t0
        zk_avg_write_batch_time_in_commit_processor\t0.0
        zk_min_write_batch_time_in_commit_processor\t0
        zk_max_write_batch_time_in_commit_processor\t0
        zk_cnt_write_batch_time_in_commit_processor\t0
        zk_sum_write_batch_time_in_commit_processor\t0
        zk_avg_read_commit_proc_issued\t0.0
        zk_min_read_commit_proc_issued\t0
        zk_max_read_commit_proc_issued\t0
        zk_cnt_read_commit_proc_issued\t0
        zk_sum_read_commit_proc_issued\t0
        zk_avg_concurrent_request_processing_in_commit_processor\t0.0
        zk_min_concurrent_request_processing_in_commit_processor\t0
        zk_max_concurrent_request_processing_in_commit_processor\t0
        zk_cnt_concurrent_request_processing_in_commit_processor\t0
        zk_sum_concurrent_request_processing_in_commit_processor\t0
        zk_avg_observer_sync_time\t0.0
        zk_min_observer_sync_time\t0
        zk_max_observer_sync_time\t0
        zk_cnt_observer_sync_time\t0
        zk_sum_observer_sync_time\t0
        zk_avg_node_changed_watch_count\t0.0
        zk_min_node_changed_watch_count\t0
        zk_max_node_changed_watch_count\t0
        zk_cnt_node_changed_watch_count\t0
        zk_sum_node_changed_watch_count\t0
        zk_avg_sync_process_time\t0.5
        zk_min_sync_process_time\t0
        zk_max_sync_process_time\t1
        zk_cnt_sync_process_time\t6
        zk_sum_sync_process_time\t3
        zk_avg_startup_snap_load_time\t2.0
        zk_min_startup_snap_load_time\t2
        zk_max_startup_snap_load_time\t2
        zk_cnt_startup_snap_load_time\t1
        zk_sum_startup_snap_load_time\t2
        zk_avg_prep_processor_queue_time_ms\t0.0588
        zk_min_prep_processor_queue_time_ms\t0
        zk_max_prep_processor_queue_time_ms\t1
        zk_cnt_prep_processor_queue_time_ms\t17
        zk_sum_prep_processor_queue_time_ms\t1
        zk_p50_prep_processor_queue_time_ms\t0
        zk_p95_prep_processor_queue_time_ms\t1
        zk_p99_prep_processor_queue_time_ms\t1
        zk_p999_prep_processor_queue_time_ms\t1
        zk_avg_jvm_pause_time_ms\t0.0
        zk_min_jvm_pause_time_ms\t0
        zk_max_jvm_pause_time_ms\t0
        zk_cnt_jvm_pause_time_ms\t0
        zk_sum_jvm_pause_time_ms\t0
        zk_p50_jvm_pause_time_ms\t0
        zk_p95_jvm_pause_time_ms\t0
        zk_p99_jvm_pause_time_ms\t0
        zk_p999_jvm_pause_time_ms\t0
        zk_avg_close_session_prep_time\t0.0
        zk_min_close_session_prep_time\t0
        zk_max_close_session_prep_time\t0
        zk_cnt_close_session_prep_time\t0
        zk_sum_close_session_prep_time\t0
        zk_p50_close_session_prep_time\t0
        zk_p95_close_session_prep_time\t0
        zk_p99_close_session_prep_time\t0
        zk_p999_close_session_prep_time\t0
        zk_avg_read_commitproc_time_ms\t0.0
        zk_min_read_commitproc_time_ms\t0
        zk_max_read_commitproc_time_ms\t0
        zk_cnt_read_commitproc_time_ms\t0
        zk_sum_read_commitproc_time_ms\t0
        zk_p50_read_commitproc_time_ms\t0
        zk_p95_read_commitproc_time_ms\t0
        zk_p99_read_commitproc_time_ms\t0
        zk_p999_read_commitproc_time_ms\t0
        zk_avg_updatelatency\t4.5
        zk_min_updatelatency\t1
        zk_max_updatelatency\t11
        zk_cnt_updatelatency\t6
        zk_sum_updatelatency\t27
        zk_p50_updatelatency\t2
        zk_p95_updatelatency\t11
        zk_p99_updatelatency\t11
        zk_p999_updatelatency\t11
        zk_avg_local_write_committed_time_ms\t0.0
        zk_min_local_write_committed_time_ms\t0
        zk_max_local_write_committed_time_ms\t0
        zk_cnt_local_write_committed_time_ms\t0
        zk_sum_local_write_committed_time_ms\t0
        zk_p50_local_write_committed_time_ms\t0
        zk_p95_local_write_committed_time_ms\t0
        zk_p99_local_write_committed_time_ms\t0
        zk_p999_local_write_committed_time_ms\t0
        zk_avg_request_throttle_queue_time_ms\t0.0
        zk_min_request_throttle_queue_time_ms\t0
        zk_max_request_throttle_queue_time_ms\t0
        zk_cnt_request_throttle_queue_time_ms\t17
        zk_sum_request_throttle_queue_time_ms\t0
        zk_p50_request_throttle_queue_time_ms\t0
        zk_p95_request_throttle_queue_time_ms\t0
        zk_p99_request_throttle_queue_time_ms\t0
        zk_p999_request_throttle_queue_time_ms\t0
        zk_avg_readlatency\t1.1818
        zk_min_readlatency\t0
        zk_max_readlatency\t5
        zk_cnt_readlatency\t11
        zk_sum_readlatency\t13
        zk_p50_readlatency\t1
        zk_p95_readlatency\t5
        zk_p99_readlatency\t5
        zk_p999_readlatency\t5
        zk_avg_quorum_ack_latency\t0.0
        zk_min_quorum_ack_latency\t0
        zk_max_quorum_ack_latency\t0
        zk_cnt_quorum_ack_latency\t0
        zk_sum_quorum_ack_latency\t0
        zk_p50_quorum_ack_latency\t0
        zk_p95_quorum_ack_latency\t0
        zk_p99_quorum_ack_latency\t0
        zk_p999_quorum_ack_latency\t0
        zk_avg_om_commit_process_time_ms\t0.0
        zk_min_om_commit_process_time_ms\t0
        zk_max_om_commit_process_time_ms\t0
        zk_cnt_om_commit_process_time_ms\t0
        zk_sum_om_commit_process_time_ms\t0
        zk_p50_om_commit_process_time_ms\t0
        zk_p95_om_commit_process_time_ms\t0
        zk_p99_om_commit_process_time_ms\t0
        zk_p999_om_commit_process_time_ms\t0
        zk_avg_read_final_proc_time_ms\t0.0
        zk_min_read_final_proc_time_ms\t0
        zk_max_read_final_proc_time_ms\t0
        zk_cnt_read_final_proc_time_ms\t0
        zk_sum_read_final_proc_time_ms\t0
        zk_p50_read_final_proc_time_ms\t0
        zk_p95_read_final_proc_time_ms\t0
        zk_p99_read_final_proc_time_ms\t0
        zk_p999_read_final_proc_time_ms\t0
        zk_avg_commit_propagation_latency\t0.0
        zk_min_commit_propagation_latency\t0
        zk_max_commit_propagation_latency\t0
        zk_cnt_commit_propagation_latency\t0
        zk_sum_commit_propagation_latency\t0
        zk_p50_commit_propagation_latency\t0
        zk_p95_commit_propagation_latency\t0
        zk_p99_commit_propagation_latency\t0
        zk_p999_commit_propagation_latency\t0
        zk_avg_dead_watchers_cleaner_latency\t0.0
        zk_min_dead_watchers_cleaner_latency\t0
        zk_max_dead_watchers_cleaner_latency\t0
        zk_cnt_dead_watchers_cleaner_latency\t0
        zk_sum_dead_watchers_cleaner_latency\t0
        zk_p50_dead_watchers_cleaner_latency\t0
        zk_p95_dead_watchers_cleaner_latency\t0
        zk_p99_dead_watchers_cleaner_latency\t0
        zk_p999_dead_watchers_cleaner_latency\t0
        zk_avg_write_final_proc_time_ms\t0.0
        zk_min_write_final_proc_time_ms\t0
        zk_max_write_final_proc_time_ms\t0
        zk_cnt_write_final_proc_time_ms\t0
        zk_sum_write_final_proc_time_ms\t0
        zk_p50_write_final_proc_time_ms\t0
        zk_p95_write_final_proc_time_ms\t0
        zk_p99_write_final_proc_time_ms\t0
        zk_p999_write_final_proc_time_ms\t0
        zk_avg_proposal_ack_creation_latency\t0.0
        zk_min_proposal_ack_creation_latency\t0
        zk_max_proposal_ack_creation_latency\t0
        zk_cnt_proposal_ack_creation_latency\t0
        zk_sum_proposal_ack_creation_latency\t0
        zk_p50_proposal_ack_creation_latency\t0
        zk_p95_proposal_ack_creation_latency\t0
        zk_p99_proposal_ack_creation_latency\t0
        zk_p999_proposal_ack_creation_latency\t0
        zk_avg_proposal_latency\t0.0
        zk_min_proposal_latency\t0
        zk_max_proposal_latency\t0
        zk_cnt_proposal_latency\t0
        zk_sum_proposal_latency\t0
        zk_p50_proposal_latency\t0
        zk_p95_proposal_latency\t0
        zk_p99_proposal_latency\t0
        zk_p999_proposal_latency\t0
        zk_avg_om_proposal_process_time_ms\t0.0
        zk_min_om_proposal_process_time_ms\t0
        zk_max_om_proposal_process_time_ms\t0
        zk_cnt_om_proposal_process_time_ms\t0
        zk_sum_om_proposal_process_time_ms\t0
        zk_p50_om_proposal_process_time_ms\t0
        zk_p95_om_proposal_process_time_ms\t0
        zk_p99_om_proposal_process_time_ms\t0
        zk_p999_om_proposal_process_time_ms\t0
        zk_avg_sync_processor_queue_and_flush_time_ms\t1.1667
        zk_min_sync_processor_queue_and_flush_time_ms\t0
        zk_max_sync_processor_queue_and_flush_time_ms\t2
        zk_cnt_sync_processor_queue_and_flush_time_ms\t6
        zk_sum_sync_processor_queue_and_flush_time_ms\t7
        zk_p50_sync_processor_queue_and_flush_time_ms\t1
        zk_p95_sync_processor_queue_and_flush_time_ms\t2
        zk_p99_sync_processor_queue_and_flush_time_ms\t2
        zk_p999_sync_processor_queue_and_flush_time_ms\t2
        zk_avg_propagation_latency\t3.3333
        zk_min_propagation_latency\t0
        zk_max_propagation_latency\t9
        zk_cnt_propagation_latency\t6
        zk_sum_propagation_latency\t20
        zk_p50_propagation_latency\t2
        zk_p95_propagation_latency\t9
        zk_p99_propagation_latency\t9
        zk_p999_propagation_latency\t9
        zk_avg_server_write_committed_time_ms\t0.0
        zk_min_server_write_committed_time_ms\t0
        zk_max_server_write_committed_time_ms\t0
        zk_cnt_server_write_committed_time_ms\t0
        zk_sum_server_write_committed_time_ms\t0
        zk_p50_server_write_committed_time_ms\t0
        zk_p95_server_write_committed_time_ms\t0
        zk_p99_server_write_committed_time_ms\t0
        zk_p999_server_write_committed_time_ms\t0
        zk_avg_sync_processor_queue_time_ms\t0.2353
        zk_min_sync_processor_queue_time_ms\t0
        zk_max_sync_processor_queue_time_ms\t1
        zk_cnt_sync_processor_queue_time_ms\t17
        zk_sum_sync_processor_queue_time_ms\t4
        zk_p50_sync_processor_queue_time_ms\t0
        zk_p95_sync_processor_queue_time_ms\t1
        zk_p99_sync_processor_queue_time_ms\t1
        zk_p999_sync_processor_queue_time_ms\t1
        zk_avg_sync_processor_queue_flush_time_ms\t0.3333
        zk_min_sync_processor_queue_flush_time_ms\t0
        zk_max_sync_processor_queue_flush_time_ms\t1
        zk_cnt_sync_processor_queue_flush_time_ms\t6
        zk_sum_sync_processor_queue_flush_time_ms\t2
        zk_p50_sync_processor_queue_flush_time_ms\t0
        zk_p95_sync_processor_queue_flush_time_ms\t1
        zk_p99_sync_processor_queue_flush_time_ms\t1
        zk_p999_sync_processor_queue_flush_time_ms\t1
        zk_avg_write_commitproc_time_ms\t0.0
        zk_min_write_commitproc_time_ms\t0
        zk_max_write_commitproc_time_ms\t0
        zk_cnt_write_commitproc_time_ms\t0
        zk_sum_write_commitproc_time_ms\t0
        zk_p50_write_commitproc_time_ms\t0
        zk_p95_write_commitproc_time_ms\t0
        zk_p99_write_commitproc_time_ms\t0
        zk_p999_write_commitproc_time_ms\t0
        zk_avg_app_read_per_namespace\t99.75
        zk_min_app_read_per_namespace\t74
        zk_max_app_read_per_namespace\t174
        zk_cnt_app_read_per_namespace\t4
        zk_sum_app_read_per_namespace\t399
        zk_avg_app_write_per_namespace\t32.25
        zk_min_app_write_per_namespace\t4
        zk_max_app_write_per_namespace\t106
        zk_cnt_app_write_per_namespace\t4
        zk_sum_app_write_per_namespace\t129
        """ + "\n"

    static let freshSrvr = """
        Zookeeper version: 3.8.0-${mvngit.commit.id}, built on 2024-12-29 17:54 UTC
        Latency min/avg/max: 0/0.0/0
        Received: 1
        Sent: 0
        Connections: 1
        Outstanding: 0
        Zxid: 0x0
        Mode: standalone
        Node count: 5
        """ + "\n"

    static let freshRuok = """
        ruok is not executed because it is not in the whitelist.
        """ + "\n"
}
