//! `tracee.*`: Tracee events (analyzer.md §2), with Traceeshark's names and types so that its
//! users' filters carry over. Argument fields (`tracee.args.<event>.<arg>`) are registered at
//! run time; the ones here are the generated ones and the sub-fields of Tracee's complex types.

use crate::FieldDef;
use crate::FieldType::*;

/// `PTRACE_*` request names (linux/ptrace.h, x86-64).
pub static PTRACE_REQUESTS: &[(i64, &str)] = &[
    (0, "PTRACE_TRACEME"),
    (1, "PTRACE_PEEKTEXT"),
    (2, "PTRACE_PEEKDATA"),
    (3, "PTRACE_PEEKUSER"),
    (4, "PTRACE_POKETEXT"),
    (5, "PTRACE_POKEDATA"),
    (6, "PTRACE_POKEUSER"),
    (7, "PTRACE_CONT"),
    (8, "PTRACE_KILL"),
    (9, "PTRACE_SINGLESTEP"),
    (12, "PTRACE_GETREGS"),
    (13, "PTRACE_SETREGS"),
    (14, "PTRACE_GETFPREGS"),
    (15, "PTRACE_SETFPREGS"),
    (16, "PTRACE_ATTACH"),
    (17, "PTRACE_DETACH"),
    (18, "PTRACE_GETFPXREGS"),
    (19, "PTRACE_SETFPXREGS"),
    (24, "PTRACE_SYSCALL"),
    (25, "PTRACE_GET_THREAD_AREA"),
    (26, "PTRACE_SET_THREAD_AREA"),
    (30, "PTRACE_ARCH_PRCTL"),
    (31, "PTRACE_SYSEMU"),
    (32, "PTRACE_SYSEMU_SINGLESTEP"),
    (33, "PTRACE_SINGLEBLOCK"),
    (0x4200, "PTRACE_SETOPTIONS"),
    (0x4201, "PTRACE_GETEVENTMSG"),
    (0x4202, "PTRACE_GETSIGINFO"),
    (0x4203, "PTRACE_SETSIGINFO"),
    (0x4204, "PTRACE_GETREGSET"),
    (0x4205, "PTRACE_SETREGSET"),
    (0x4206, "PTRACE_SEIZE"),
    (0x4207, "PTRACE_INTERRUPT"),
    (0x4208, "PTRACE_LISTEN"),
    (0x4209, "PTRACE_PEEKSIGINFO"),
    (0x420a, "PTRACE_GETSIGMASK"),
    (0x420b, "PTRACE_SETSIGMASK"),
    (0x420c, "PTRACE_SECCOMP_GET_FILTER"),
    (0x420d, "PTRACE_SECCOMP_GET_METADATA"),
    (0x420e, "PTRACE_GET_SYSCALL_INFO"),
    (0x420f, "PTRACE_GET_RSEQ_CONFIGURATION"),
];

/// IP protocol numbers.
pub static IP_PROTOCOLS: &[(i64, &str)] = &[
    (0, "HOPOPT"),
    (1, "ICMP"),
    (2, "IGMP"),
    (4, "IPIP"),
    (6, "TCP"),
    (17, "UDP"),
    (41, "IPv6"),
    (43, "IPv6-Route"),
    (44, "IPv6-Frag"),
    (47, "GRE"),
    (50, "ESP"),
    (51, "AH"),
    (58, "ICMPv6"),
    (59, "IPv6-NoNxt"),
    (60, "IPv6-Opts"),
    (132, "SCTP"),
    (136, "UDPLite"),
    (255, "Reserved"),
];

/// `trace.PacketMetadata` directions.
pub static PACKET_DIRECTIONS: &[(i64, &str)] =
    &[(0, "invalid"), (1, "ingress"), (2, "egress"), (3, "egress")];

crate::fields! { base 0x3000;
    TRACEE = FieldDef::new("tracee", "Tracee Event (JSON)", Protocol);
    TIMESTAMP = FieldDef::new("tracee.timestamp", "Timestamp", AbsTime);
    THREAD_START_TIME = FieldDef::new("tracee.threadStartTime", "Thread Start Time", AbsTime);
    PROCESSOR_ID = FieldDef::new("tracee.processorId", "Processor ID", Int).blurb("Processor (CPU) ID");
    CGROUP_ID = FieldDef::new("tracee.cgroupId", "Cgroup ID", UInt);
    PROCESS_ID = FieldDef::new("tracee.processId", "Process ID", Int).blurb("Process ID (in PID namespace)");
    THREAD_ID = FieldDef::new("tracee.threadId", "Thread ID", Int).blurb("Thread ID (in PID namespace)");
    PARENT_PROCESS_ID = FieldDef::new("tracee.parentProcessId", "Parent Process ID", Int).blurb("Parent process ID (in PID namespace)");
    HOST_PROCESS_ID = FieldDef::new("tracee.hostProcessId", "Host Process ID", Int).blurb("Process ID (in the host PID namespace)");
    HOST_THREAD_ID = FieldDef::new("tracee.hostThreadId", "Host Thread ID", Int).blurb("Thread ID (in the host PID namespace)");
    HOST_PARENT_PROCESS_ID = FieldDef::new("tracee.hostParentProcessId", "Host Parent Process ID", Int).blurb("Parent process ID (in the host PID namespace)");
    PID_COL = FieldDef::new("tracee.pid_col", "PID Column", String).generated().blurb("PID as the PID format preference shows it");
    TID_COL = FieldDef::new("tracee.tid_col", "TID Column", String).generated().blurb("TID as the PID format preference shows it");
    PPID_COL = FieldDef::new("tracee.ppid_col", "PPID Column", String).generated().blurb("PPID as the PID format preference shows it");
    USER_ID = FieldDef::new("tracee.userId", "User ID", UInt);
    MOUNT_NAMESPACE = FieldDef::new("tracee.mountNamespace", "Mount Namespace", UInt);
    PID_NAMESPACE = FieldDef::new("tracee.pidNamespace", "PID Namespace", UInt);
    PROCESS_NAME = FieldDef::new("tracee.processName", "Process Name", String);
    EXECUTABLE_PATH = FieldDef::new("tracee.executable.path", "Executable Path", String);
    HOST_NAME = FieldDef::new("tracee.hostName", "Hostname", String);
    CONTEXT = FieldDef::new("tracee.context", "Context", None);
    PROCESS = FieldDef::new("tracee.process", "Process", None);
    CONTAINER = FieldDef::new("tracee.container", "Container", None);
    CONTAINER_ID = FieldDef::new("tracee.container.id", "Container ID", String);
    CONTAINER_NAME = FieldDef::new("tracee.container.name", "Container Name", String);
    CONTAINER_IMAGE = FieldDef::new("tracee.container.image", "Container Image", String);
    CONTAINER_IMAGE_DIGEST = FieldDef::new("tracee.container.imageDigest", "Container Image Digest", String);
    IS_CONTAINER = FieldDef::new("tracee.isContainer", "Is Container", Bool).generated().blurb("This event happened inside a container");
    CONTAINER_COL = FieldDef::new("tracee.container_col", "Container Column", String).generated();
    CONTAINER_STARTED = FieldDef::new("tracee.contextFlags.containerStarted", "Container Started", Bool);
    IS_COMPAT = FieldDef::new("tracee.contextFlags.isCompat", "Is Compat", Bool).blurb("The task is a 32-bit (compat) task");
    KUBERNETES = FieldDef::new("tracee.kubernetes", "Kubernetes", None);
    POD_NAME = FieldDef::new("tracee.kubernetes.podName", "Pod Name", String);
    POD_NAMESPACE = FieldDef::new("tracee.kubernetes.podNamespace", "Pod Namespace", String);
    POD_UID = FieldDef::new("tracee.kubernetes.podUID", "Pod UID", String);
    POD_SANDBOX = FieldDef::new("tracee.kubernetes.podSandbox", "Pod Sandbox", Bool);
    EVENT_ID = FieldDef::new("tracee.eventId", "Event ID", Int).blurb("Tracee event ID");
    EVENT_NAME = FieldDef::new("tracee.eventName", "Event Name", String).blurb("Tracee event name");
    MATCHED_POLICIES = FieldDef::new("tracee.matchedPolicies", "Matched Policies", String).blurb("Matched Tracee policies");
    ARGS_NUM = FieldDef::new("tracee.argsNum", "Args Num", Int).blurb("Number of arguments");
    IS_SIGNATURE = FieldDef::new("tracee.isSignature", "Is Signature", Bool).generated().blurb("This event is a signature");
    RETURN_VALUE = FieldDef::new("tracee.returnValue", "Return Value", Int).blurb("Return value of the hooked function or syscall");
    SYSCALL = FieldDef::new("tracee.syscall", "Syscall", String).blurb("Originating syscall");
    THREAD_ENTITY_ID = FieldDef::new("tracee.threadEntityId", "Thread Entity ID", UInt);
    PROCESS_ENTITY_ID = FieldDef::new("tracee.processEntityId", "Process Entity ID", UInt);
    PARENT_ENTITY_ID = FieldDef::new("tracee.parentEntityId", "Parent Entity ID", UInt);
    STACK_ADDRESSES = FieldDef::new("tracee.stackAddresses", "Stack Address", UInt).hex(16);
    ARGS = FieldDef::new("tracee.args", "Args", None);
    COMMAND_LINE = FieldDef::new("tracee.args.command_line", "Command Line", String).generated().blurb("argv joined by spaces");
    PTRACE_REQUEST = FieldDef::new("tracee.args.ptrace.request", "request", Int).strings(PTRACE_REQUESTS);
    PTRACE_REQUEST_NAME = FieldDef::new("tracee.args.ptrace.request_name", "Request Name", String).generated();
    MAGIC_WRITE_DECODED_DATA = FieldDef::new("tracee.args.magic_write.decoded_data", "Decoded Data", String).generated().blurb("The written bytes as printable text");
    MAGIC_WRITE_FILE_TYPE = FieldDef::new("tracee.args.magic_write.file_type", "File Type", String).generated().blurb("File type from magic bytes or extension");

    SOCKADDR_SA_FAMILY = FieldDef::new("tracee.sockaddr.sa_family", "sa_family", String).blurb("Socket family");
    SOCKADDR_SUN_PATH = FieldDef::new("tracee.sockaddr.sun_path", "sun_path", String).blurb("Unix socket path");
    SOCKADDR_SIN_ADDR = FieldDef::new("tracee.sockaddr.sin_addr", "sin_addr", String).blurb("Socket IPv4 address");
    SOCKADDR_SIN_PORT = FieldDef::new("tracee.sockaddr.sin_port", "sin_port", String).blurb("Socket TCP/UDP port");
    SOCKADDR_SIN6_ADDR = FieldDef::new("tracee.sockaddr.sin6_addr", "sin6_addr", String).blurb("Socket IPv6 address");
    SOCKADDR_SIN6_PORT = FieldDef::new("tracee.sockaddr.sin6_port", "sin6_port", String).blurb("Socket TCP/UDP port");
    SOCKADDR_SIN6_FLOWINFO = FieldDef::new("tracee.sockaddr.sin6_flowinfo", "sin6_flowinfo", String).blurb("Socket IPv6 flow info");
    SOCKADDR_SIN6_SCOPEID = FieldDef::new("tracee.sockaddr.sin6_scopeid", "sin6_scopeid", String).blurb("Socket IPv6 scope id");

    CRED_UID = FieldDef::new("tracee.slim_cred_t.uid", "UID", Int).blurb("Real user ID");
    CRED_GID = FieldDef::new("tracee.slim_cred_t.gid", "GID", Int).blurb("Real group ID");
    CRED_SUID = FieldDef::new("tracee.slim_cred_t.suid", "SUID", Int).blurb("Saved user ID");
    CRED_SGID = FieldDef::new("tracee.slim_cred_t.sgid", "SGID", Int).blurb("Saved group ID");
    CRED_EUID = FieldDef::new("tracee.slim_cred_t.euid", "EUID", Int).blurb("Effective user ID");
    CRED_EGID = FieldDef::new("tracee.slim_cred_t.egid", "EGID", Int).blurb("Effective group ID");
    CRED_FSUID = FieldDef::new("tracee.slim_cred_t.fsuid", "FSUID", Int).blurb("User ID for VFS operations");
    CRED_FSGID = FieldDef::new("tracee.slim_cred_t.fsgid", "FSGID", Int).blurb("Group ID for VFS operations");
    CRED_USER_NAMESPACE = FieldDef::new("tracee.slim_cred_t.user_namespace", "User Namespace", Int);
    CRED_SECURE_BITS = FieldDef::new("tracee.slim_cred_t.secure_bits", "Secure Bits", Int);
    CRED_CAP_INHERITABLE = FieldDef::new("tracee.slim_cred_t.cap_inheritable", "CapInh", Int).blurb("Inheritable capabilities");
    CRED_CAP_PERMITTED = FieldDef::new("tracee.slim_cred_t.cap_permitted", "CapPrm", Int).blurb("Permitted capabilities");
    CRED_CAP_EFFECTIVE = FieldDef::new("tracee.slim_cred_t.cap_effective", "CapEff", Int).blurb("Effective capabilities");
    CRED_CAP_BOUNDING = FieldDef::new("tracee.slim_cred_t.cap_bounding", "CapBnd", Int).blurb("Bounding capabilities");
    CRED_CAP_AMBIENT = FieldDef::new("tracee.slim_cred_t.cap_ambient", "CapAmb", Int).blurb("Ambient capabilities");

    PKTMETA_SRC_IP = FieldDef::new("tracee.pktmeta.src_ip", "Src IP", String).blurb("Source IP");
    PKTMETA_DST_IP = FieldDef::new("tracee.pktmeta.dst_ip", "Dst IP", String).blurb("Destination IP");
    PKTMETA_SRC_PORT = FieldDef::new("tracee.pktmeta.src_port", "Src Port", UInt).blurb("Source port");
    PKTMETA_DST_PORT = FieldDef::new("tracee.pktmeta.dst_port", "Dst Port", UInt).blurb("Destination port");
    PKTMETA_PROTOCOL = FieldDef::new("tracee.pktmeta.protocol", "Protocol", UInt).strings(IP_PROTOCOLS).blurb("IP protocol");
    PKTMETA_PACKET_LEN = FieldDef::new("tracee.pktmeta.packet_len", "Len", UInt).blurb("Packet length");
    PKTMETA_IFACE = FieldDef::new("tracee.pktmeta.iface", "Iface", String).blurb("Interface");

    DNSQUERY_QUERY = FieldDef::new("tracee.dnsquery.query", "Query", String).blurb("DNS query");
    DNSQUERY_TYPE = FieldDef::new("tracee.dnsquery.type", "Type", String).blurb("DNS query type");
    DNSQUERY_CLASS = FieldDef::new("tracee.dnsquery.class", "Class", String).blurb("DNS query class");
    DNSANSWER_TYPE = FieldDef::new("tracee.dnsanswer.type", "Type", String).blurb("DNS answer type");
    DNSANSWER_TTL = FieldDef::new("tracee.dnsanswer.ttl", "TTL", UInt).blurb("DNS answer time to live");
    DNSANSWER_ANSWER = FieldDef::new("tracee.dnsanswer.answer", "Answer", String).blurb("DNS answer");

    HTTP_REQUEST_METHOD = FieldDef::new("tracee.proto_http_request.method", "Method", String).blurb("HTTP method");
    HTTP_REQUEST_PROTOCOL = FieldDef::new("tracee.proto_http_request.protocol", "Protocol", String).blurb("HTTP protocol version");
    HTTP_REQUEST_HOST = FieldDef::new("tracee.proto_http_request.host", "Host", String).blurb("HTTP host");
    HTTP_REQUEST_URI_PATH = FieldDef::new("tracee.proto_http_request.uri_path", "URI Path", String).blurb("HTTP URI path");
    HTTP_REQUEST_HEADER = FieldDef::new("tracee.proto_http_request.header", "Header", String).blurb("HTTP header");
    HTTP_REQUEST_CONTENT_LENGTH = FieldDef::new("tracee.proto_http_request.content_length", "Content Length", Int).blurb("HTTP content length");

    HTTP_DIRECTION = FieldDef::new("tracee.proto_http.direction", "Direction", String);
    HTTP_METHOD = FieldDef::new("tracee.proto_http.method", "Method", String);
    HTTP_PROTOCOL = FieldDef::new("tracee.proto_http.protocol", "Protocol", String);
    HTTP_HOST = FieldDef::new("tracee.proto_http.host", "Host", String);
    HTTP_URI_PATH = FieldDef::new("tracee.proto_http.uri_path", "URI Path", String);
    HTTP_STATUS = FieldDef::new("tracee.proto_http.status", "Status", String);
    HTTP_STATUS_CODE = FieldDef::new("tracee.proto_http.status_code", "Status Code", Int);
    HTTP_HEADER = FieldDef::new("tracee.proto_http.header", "Header", String);
    HTTP_CONTENT_LENGTH = FieldDef::new("tracee.proto_http.content_length", "Content Length", Int);

    HTTP_RESPONSE_STATUS = FieldDef::new("tracee.proto_http_response.status", "Status", String);
    HTTP_RESPONSE_STATUS_CODE = FieldDef::new("tracee.proto_http_response.status_code", "Status Code", Int);
    HTTP_RESPONSE_PROTOCOL = FieldDef::new("tracee.proto_http_response.protocol", "Protocol", String);
    HTTP_RESPONSE_HEADER = FieldDef::new("tracee.proto_http_response.header", "Header", String);
    HTTP_RESPONSE_CONTENT_LENGTH = FieldDef::new("tracee.proto_http_response.content_length", "Content Length", Int);

    PACKET_METADATA_DIRECTION = FieldDef::new("tracee.packet_metadata.direction", "Direction", UInt).strings(PACKET_DIRECTIONS);

    IPV4_VERSION = FieldDef::new("tracee.proto_ipv4.version", "Version", UInt);
    IPV4_IHL = FieldDef::new("tracee.proto_ipv4.ihl", "Header Length", UInt);
    IPV4_TOS = FieldDef::new("tracee.proto_ipv4.tos", "Type of Service", UInt).hex(2);
    IPV4_LENGTH = FieldDef::new("tracee.proto_ipv4.length", "Total Length", UInt);
    IPV4_ID = FieldDef::new("tracee.proto_ipv4.id", "Identification", UInt).hex(4);
    IPV4_FLAGS = FieldDef::new("tracee.proto_ipv4.flags", "Flags", UInt).hex(2);
    IPV4_FRAG_OFFSET = FieldDef::new("tracee.proto_ipv4.frag_offset", "Fragment Offset", UInt);
    IPV4_TTL = FieldDef::new("tracee.proto_ipv4.ttl", "Time to Live", UInt);
    IPV4_PROTOCOL = FieldDef::new("tracee.proto_ipv4.protocol", "Protocol", String);
    IPV4_CHECKSUM = FieldDef::new("tracee.proto_ipv4.checksum", "Header Checksum", UInt).hex(4);
    IPV4_SRC_IP = FieldDef::new("tracee.proto_ipv4.src_ip", "Source Address", String);
    IPV4_DST_IP = FieldDef::new("tracee.proto_ipv4.dst_ip", "Destination Address", String);

    IPV6_VERSION = FieldDef::new("tracee.proto_ipv6.version", "Version", UInt);
    IPV6_TRAFFIC_CLASS = FieldDef::new("tracee.proto_ipv6.traffic_class", "Traffic Class", UInt).hex(2);
    IPV6_FLOW_LABEL = FieldDef::new("tracee.proto_ipv6.flow_label", "Flow Label", UInt).hex(5);
    IPV6_LENGTH = FieldDef::new("tracee.proto_ipv6.length", "Payload Length", UInt);
    IPV6_NEXT_HEADER = FieldDef::new("tracee.proto_ipv6.next_header", "Next Header", String);
    IPV6_HOP_LIMIT = FieldDef::new("tracee.proto_ipv6.hop_limit", "Hop Limit", UInt);
    IPV6_SRC_IP = FieldDef::new("tracee.proto_ipv6.src_ip", "Source Address", String);
    IPV6_DST_IP = FieldDef::new("tracee.proto_ipv6.dst_ip", "Destination Address", String);

    TCP_SRC_PORT = FieldDef::new("tracee.proto_tcp.src_port", "Source Port", UInt);
    TCP_DST_PORT = FieldDef::new("tracee.proto_tcp.dst_port", "Destination Port", UInt);
    TCP_SEQ = FieldDef::new("tracee.proto_tcp.seq", "Sequence Number", UInt);
    TCP_ACK = FieldDef::new("tracee.proto_tcp.ack", "Acknowledgment Number", UInt);
    TCP_DATA_OFFSET = FieldDef::new("tracee.proto_tcp.data_offset", "Data Offset", UInt);
    TCP_FLAGS = FieldDef::new("tracee.proto_tcp.flags", "Flags", String).generated().blurb("The set flags, e.g. SYN, ACK");
    TCP_WINDOW = FieldDef::new("tracee.proto_tcp.window", "Window", UInt);
    TCP_CHECKSUM = FieldDef::new("tracee.proto_tcp.checksum", "Checksum", UInt).hex(4);
    TCP_URGENT = FieldDef::new("tracee.proto_tcp.urgent", "Urgent Pointer", UInt);

    UDP_SRC_PORT = FieldDef::new("tracee.proto_udp.src_port", "Source Port", UInt);
    UDP_DST_PORT = FieldDef::new("tracee.proto_udp.dst_port", "Destination Port", UInt);
    UDP_LENGTH = FieldDef::new("tracee.proto_udp.length", "Length", UInt);
    UDP_CHECKSUM = FieldDef::new("tracee.proto_udp.checksum", "Checksum", UInt).hex(4);

    ICMP_TYPE_CODE = FieldDef::new("tracee.proto_icmp.type_code", "Type/Code", String);
    ICMP_CHECKSUM = FieldDef::new("tracee.proto_icmp.checksum", "Checksum", UInt).hex(4);
    ICMP_ID = FieldDef::new("tracee.proto_icmp.id", "Identifier", UInt);
    ICMP_SEQ = FieldDef::new("tracee.proto_icmp.seq", "Sequence Number", UInt);
    ICMPV6_TYPE_CODE = FieldDef::new("tracee.proto_icmpv6.type_code", "Type/Code", String);
    ICMPV6_CHECKSUM = FieldDef::new("tracee.proto_icmpv6.checksum", "Checksum", UInt).hex(4);

    DNS_ID = FieldDef::new("tracee.proto_dns.id", "Transaction ID", UInt).hex(4);
    DNS_QR = FieldDef::new("tracee.proto_dns.qr", "Response", UInt);
    DNS_OPCODE = FieldDef::new("tracee.proto_dns.opcode", "Opcode", String);
    DNS_AA = FieldDef::new("tracee.proto_dns.aa", "Authoritative", UInt);
    DNS_TC = FieldDef::new("tracee.proto_dns.tc", "Truncated", UInt);
    DNS_RD = FieldDef::new("tracee.proto_dns.rd", "Recursion Desired", UInt);
    DNS_RA = FieldDef::new("tracee.proto_dns.ra", "Recursion Available", UInt);
    DNS_Z = FieldDef::new("tracee.proto_dns.z", "Z", UInt);
    DNS_RESPONSE_CODE = FieldDef::new("tracee.proto_dns.response_code", "Reply Code", String);
    DNS_QDCOUNT = FieldDef::new("tracee.proto_dns.qdcount", "Questions", UInt);
    DNS_ANCOUNT = FieldDef::new("tracee.proto_dns.ancount", "Answer RRs", UInt);
    DNS_NSCOUNT = FieldDef::new("tracee.proto_dns.nscount", "Authority RRs", UInt);
    DNS_ARCOUNT = FieldDef::new("tracee.proto_dns.arcount", "Additional RRs", UInt);
    DNS_QUESTION_NAME = FieldDef::new("tracee.proto_dns.question.name", "Name", String);
    DNS_QUESTION_TYPE = FieldDef::new("tracee.proto_dns.question.type", "Type", String);
    DNS_QUESTION_CLASS = FieldDef::new("tracee.proto_dns.question.class", "Class", String);
    DNS_RR_SECTION = FieldDef::new("tracee.proto_dns.rr.section", "Section", String).generated().blurb("answers, authorities or additionals");
    DNS_RR_NAME = FieldDef::new("tracee.proto_dns.rr.name", "Name", String);
    DNS_RR_TYPE = FieldDef::new("tracee.proto_dns.rr.type", "Type", String);
    DNS_RR_CLASS = FieldDef::new("tracee.proto_dns.rr.class", "Class", String);
    DNS_RR_TTL = FieldDef::new("tracee.proto_dns.rr.ttl", "Time to Live", UInt);
    DNS_RR_DATA = FieldDef::new("tracee.proto_dns.rr.data", "Data", String).blurb("Address, name server, canonical name, pointer, text...");

    HOOKED_SYMBOLS_NAME = FieldDef::new("tracee.hooked_symbols.name", "Symbol Name", String);
    HOOKED_SYMBOLS_MODULE_OWNER = FieldDef::new("tracee.hooked_symbols.module_owner", "Module Owner", String);

    PROCESS_LINEAGE = FieldDef::new("tracee.process_lineage", "Process Lineage", String).generated().blurb("The chain ppid -> pid (name) -> ...");
    PROCESS_LINEAGE_PID = FieldDef::new("tracee.process_lineage.pid", "PID", Int).blurb("Process ID (in the host PID namespace)");
    PROCESS_LINEAGE_PPID = FieldDef::new("tracee.process_lineage.ppid", "PPID", Int).blurb("Parent process ID (in the host PID namespace)");
    PROCESS_LINEAGE_START_TIME = FieldDef::new("tracee.process_lineage.start_time", "Start Time", AbsTime);
    PROCESS_LINEAGE_PROCESS_NAME = FieldDef::new("tracee.process_lineage.process_name", "Process Name", String);
    PROCESS_LINEAGE_PATHNAME = FieldDef::new("tracee.process_lineage.pathname", "Pathname", String).blurb("Process executable path");
    PROCESS_LINEAGE_SHA256 = FieldDef::new("tracee.process_lineage.sha256", "SHA256", String).blurb("SHA256 hash of the process executable");
    PROCESS_LINEAGE_COMMAND = FieldDef::new("tracee.process_lineage.command", "Command", String).blurb("Process command line");
    ROOT_CAUSE_ORIGIN = FieldDef::new("tracee.root_cause.origin", "Origin", String);

    DETECTED_FROM = FieldDef::new("tracee.detected_from", "Detected From", None);
    DETECTED_FROM_ID = FieldDef::new("tracee.detected_from.id", "Event ID", Int).blurb("ID of the event that triggered the signature");
    DETECTED_FROM_NAME = FieldDef::new("tracee.detected_from.name", "Event Name", String).blurb("Name of the event that triggered the signature");
    DETECTED_FROM_RETURN_VALUE = FieldDef::new("tracee.detected_from.return_value", "Return Value", Int).blurb("Return value of the event that triggered the signature");

    METADATA = FieldDef::new("tracee.metadata", "Metadata", None);
    METADATA_VERSION = FieldDef::new("tracee.metadata.Version", "Version", String).blurb("Signature version");
    METADATA_DESCRIPTION = FieldDef::new("tracee.metadata.Description", "Description", String).blurb("Signature description");
    METADATA_TAGS = FieldDef::new("tracee.metadata.Tags", "Tags", String);
    METADATA_CATEGORY = FieldDef::new("tracee.metadata.Properties.Category", "Category", String).blurb("Signature category");
    METADATA_KUBERNETES_TECHNIQUE = FieldDef::new("tracee.metadata.Properties.Kubernetes_Technique", "Kubernetes Technique", String);
    METADATA_SEVERITY = FieldDef::new("tracee.metadata.Properties.Severity", "Severity", Int).blurb("Severity of the signature (0 is lowest, 4 is critical)");
    METADATA_TECHNIQUE = FieldDef::new("tracee.metadata.Properties.Technique", "Technique", String);
    METADATA_AGGREGATION_KEYS = FieldDef::new("tracee.metadata.Properties.aggregation_keys", "Aggregation Keys", String);
    METADATA_EXTERNAL_ID = FieldDef::new("tracee.metadata.Properties.external_id", "External ID", String).blurb("External technique ID (e.g. MITRE)");
    METADATA_ID = FieldDef::new("tracee.metadata.Properties.id", "Unified External ID", String);
    METADATA_RELEASE = FieldDef::new("tracee.metadata.Properties.release", "Release", String);
    METADATA_SIGNATURE_ID = FieldDef::new("tracee.metadata.Properties.signatureID", "Internal ID", String);
    METADATA_SIGNATURE_NAME = FieldDef::new("tracee.metadata.Properties.signatureName", "Signature Name", String);

    CAPTURE_CONTEXT_VERSION = FieldDef::new("tracee.packet_context.version", "Packet Context Version", String).blurb("Version of the Tracee packet capture context in the interface description");
}
