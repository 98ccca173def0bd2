use super::*;

#[test]
fn globs() {
    assert!(matches("/*", "/var"));
    assert!(matches("/*", "/"));
    assert!(!matches("/snap/*", "/var"));
    assert!(matches("/snap/*", "/snap/core/1"));
    assert!(matches("*boot*", "/boot/efi"));
    assert!(matches("/a*c*e", "/abcde"));
    assert!(!matches("/a*c*e", "/abcdf"));
    assert!(matches("/", "/"));
    assert!(!matches("/", "/var"));
    assert!(!matches("ab*ba", "aba"));
}

#[test]
fn template_names() {
    let t = ServiceTemplate { name: "Disk {item}".into(), discover: true, ..ServiceTemplate::default() };
    assert!(t.names("Disk /var"));
    assert!(!t.names("Disk "));
    assert!(!t.names("Load"));
    assert_eq!(t.name_for("/"), "Disk /");
    let t = ServiceTemplate { exclude: vec!["/boot*".into()], include: vec!["/*".into()], ..t };
    assert!(t.keeps("/var") && !t.keeps("/boot/efi") && !t.keeps("tmp"));
}

#[test]
fn source_problems_name_file_line_and_key() {
    let text = "name = \"x\"\nversion = 1\nflavour = \"sweet\"\n\n[[check]]\nname = \"load\"\ncolour = 1\n\n[[service]]\nname = \"Load\"\n";
    let problems = read_source(text, Path::new("dir/pack.toml")).err().unwrap();
    assert!(
        problems.contains(
            &"dir/pack.toml:2:11: pack: key 'version': expected a non-empty string, found integer 1".to_string()
        ),
        "{problems:#?}"
    );
    assert!(problems.iter().any(|p| p.starts_with("dir/pack.toml:3:1: pack: unknown key 'flavour'")), "{problems:#?}");
    assert!(
        problems.iter().any(|p| p.starts_with("dir/pack.toml:7:1: check \"load\": unknown key 'colour' in [[check]]")),
        "{problems:#?}"
    );
    assert!(
        problems.iter().any(|p| p.starts_with("dir/pack.toml:1:1: pack: missing key 'description'")),
        "{problems:#?}"
    );
    assert!(
        problems.iter().any(|p| p.starts_with("dir/pack.toml:9:1: service \"Load\": missing key 'check'")),
        "{problems:#?}"
    );
}
