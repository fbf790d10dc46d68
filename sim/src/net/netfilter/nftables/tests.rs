//! Unit tests of the nftables reader and evaluator.
use super::expr::parse_nft_time;
use super::script::priority;
use super::*;

#[test]
fn priorities_and_times() {
    assert_eq!(priority(&["dstnat".into()]), Some(-100));
    assert_eq!(
        priority(&["dstnat".into(), "-".into(), "10".into()]),
        Some(-110)
    );
    assert_eq!(priority(&["-110".into()]), Some(-110));
    assert_eq!(priority(&["srcnat".into()]), Some(100));
    assert_eq!(parse_nft_time("10800s"), Some(10_800_000_000_000));
    assert_eq!(parse_nft_time("3h"), Some(10_800_000_000_000));
    assert_eq!(parse_nft_time("1h30m"), Some(5_400_000_000_000));
    assert_eq!(parse_nft_time("x"), None);
}

#[test]
fn both_syntaxes_read_the_same_rules() {
    let cmds = "add table ip t\nadd chain ip t pre { type nat hook prerouting priority dstnat ; }\nadd chain ip t svc\nadd map ip t m { type ipv4_addr . inet_proto . inet_service : verdict ; }\nadd rule ip t pre ip daddr . meta l4proto . th dport vmap @m\nadd rule ip t svc meta l4proto tcp dnat to 10.0.0.1:80\nadd element ip t m { 10.96.0.1 . tcp . 80 : goto svc }\n";
    let block = "table ip t {\n\tmap m {\n\t\ttype ipv4_addr . inet_proto . inet_service : verdict\n\t\telements = { 10.96.0.1 . tcp . 80 : goto svc }\n\t}\n\tchain pre {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n\t\tip daddr . meta l4proto . th dport vmap @m\n\t}\n\tchain svc {\n\t\tmeta l4proto tcp dnat to 10.0.0.1:80\n\t}\n}\n";
    let a = Nft::parse(cmds).unwrap();
    let b = Nft::parse(block).unwrap();
    for n in [&a, &b] {
        let t = &n.tables[0];
        assert_eq!(t.sets["m"].elements.len(), 1);
        let pre = &t.chains[t.chain("pre").unwrap()];
        assert_eq!(pre.base.as_ref().unwrap().priority, -100);
        assert_eq!(pre.rules.len(), 1);
    }
    assert_eq!(a.to_text(), b.to_text());
}

#[test]
fn iptables_nft_tables_are_left_to_iptables_save() {
    let listing = "table ip filter {\n\tchain INPUT {\n\t\ttype filter hook input priority filter; policy accept;\n\t\tct status dnat counter packets 0 bytes 0 drop\n\t}\n}\n# Warning: table ip nat is managed by iptables-nft, do not touch!\ntable ip nat {\n\tchain POSTROUTING {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n\t\txt target \"MASQUERADE\"\n\t}\n}\ntable ip kube-proxy {\n\tchain c {\n\t\tdrop\n\t}\n}\n";
    let n = Nft::parse_listing(listing).unwrap();
    assert_eq!(n.tables.len(), 1);
    assert_eq!(n.tables[0].name, "kube-proxy");
    assert_eq!(n.tables[0].chains[0].rules[0].line, 16);
}

#[test]
fn errors_name_the_line() {
    let e =
        Nft::parse("add table ip t\nadd chain ip t c\nadd rule ip t c jump nowhere\n").unwrap_err();
    assert_eq!(e.line, 3);
    assert!(e.message.contains("chain 'nowhere'"), "{e}");
    let e =
        Nft::parse("add table ip t\nadd chain ip t c\nadd rule ip t c frobnicate 3\n").unwrap_err();
    assert_eq!(e.line, 3);
    assert!(
        e.message.contains("syntax error, unexpected frobnicate"),
        "{e}"
    );
    assert!(Nft::parse("add table ip6 t\n").is_ok());
    let e = Nft::parse("table ip t {\n chain c {\n").unwrap_err();
    assert!(e.message.contains("expecting '}'"), "{e}");
}
