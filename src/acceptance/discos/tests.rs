//! DISCOS against scripted backends: what it sends, and what it makes of
//! replies right and wrong.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use super::*;

/// A backend that sends `greeting`, then answers each line with what
/// `answer` says (the raw bytes, line end included; empty for no reply;
/// without a line end, a reply cut by the connection's end), and records
/// the lines it read.
struct Scripted {
    address: String,
    heard: Arc<Mutex<Vec<String>>>,
}

impl Scripted {
    async fn start(greeting: &'static [u8], answer: fn(&str) -> Vec<u8>) -> Scripted {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let heard = Arc::new(Mutex::new(Vec::new()));
        let record = heard.clone();
        tokio::spawn(async move {
            let (socket, _) = listener.accept().await.unwrap();
            let (read, mut write) = socket.into_split();
            write.write_all(greeting).await.unwrap();
            let mut lines = BufReader::new(read);
            let mut line = Vec::new();
            while lines.read_until(b'\n', &mut line).await.unwrap_or(0) > 0 {
                let text = String::from_utf8_lossy(&line).into_owned();
                record.lock().unwrap().push(text.clone());
                let reply = answer(text.trim_end_matches(['\r', '\n']));
                if write.write_all(&reply).await.is_err() {
                    break;
                }
                // A reply without its line end is cut: the connection ends.
                if !reply.is_empty() && !reply.ends_with(b"\n") {
                    break;
                }
                line.clear();
            }
        });
        Scripted { address, heard }
    }

    fn heard(&self) -> Vec<String> {
        self.heard.lock().unwrap().clone()
    }
}

/// A backend as DISCOS needs it: every request `ok`, 14 values for
/// `get-tpi` and `get-rms`, the time in Unix seconds.
fn good(request: &str) -> Vec<u8> {
    let name = request[1..].split(',').next().unwrap_or("");
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let reply = match name {
        "get-tpi" | "get-rms" => format!("!{name},ok,{}", vec!["1.5"; 14].join(",")),
        "time" => format!("!time,ok,{now:.6}"),
        "status" => format!("!status,ok,{now:.6},ok,0"),
        "get-configuration" => "!get-configuration,ok,SK77".to_owned(),
        _ => format!("!{name},ok"),
    };
    format!("{reply}\r\n").into_bytes()
}

async fn driving(answer: fn(&str) -> Vec<u8>, component: Component) -> (Discos, Scripted) {
    let backend = Scripted::start(b"!version,ok,1.4\r\n", answer).await;
    let discos = Discos::connect(&backend.address, component).await.unwrap();
    (discos, backend)
}

#[tokio::test]
async fn an_observation_sends_what_sardara_sends_in_its_order() {
    let (mut discos, backend) = driving(good, Component::Sardara).await;
    discos.initialize("SK77", None).await.unwrap();
    discos.measure_system_temperature().await;
    discos.run_scan(2).await.unwrap();
    assert_eq!(discos.problems(), []);
    let heard = backend.heard();
    let mut expected = vec!["?set-configuration,SK77\r\n".to_owned()];
    for section in 0..14 {
        expected.push(format!(
            "?set-section,{section},0,1500,{},{},3000,1024\r\n",
            section / 2,
            section % 2
        ));
    }
    expected.extend(
        [
            "?set-integration,40",
            "?cal-on",
            "?get-tpi,0,0",
            "?get-tpi,0,0",
            "?get-tpi,0,0",
            "?start",
            "?stop",
        ]
        .map(|line| format!("{line}\r\n")),
    );
    assert_eq!(heard[..expected.len()], expected[..]);
    let files = discos.files().to_vec();
    assert_eq!(files.len(), 2);
    let pattern = regex::Regex::new(
        r"^/archive/data/acceptance/(\d{8})/(\d{8}-\d{6})-acceptance-3C286/tmp/(\d{8}-\d{6})-acceptance-3C286_001_00([12])\.fits$",
    )
    .unwrap();
    for (file, subscan) in files.iter().zip(["1", "2"]) {
        let parts = pattern.captures(file).unwrap_or_else(|| panic!("{file}"));
        assert_eq!(&parts[2], &parts[3]);
        assert!(parts[2].starts_with(&parts[1]));
        assert_eq!(&parts[4], subscan);
    }
    assert_eq!(
        heard[expected.len()..],
        [
            format!("?set-filename,{}\r\n", files[0]),
            "?start\r\n".to_owned(),
            "?stop\r\n".to_owned(),
            format!("?set-filename,{}\r\n", files[1]),
            "?stop\r\n".to_owned(),
        ]
    );
    let readings = discos.readings();
    assert_eq!(readings.len(), 3);
    assert!(readings.iter().all(|r| r.complete && r.values.len() == 14));
    assert_eq!(readings[0].values[0], 1.5);
    assert_eq!(readings[1].values[0], 0.0, "the zero level is set to 0");
}

#[tokio::test]
async fn skarab_configures_each_section_with_its_own_defaults() {
    let (mut discos, backend) = driving(good, Component::Skarab).await;
    discos.initialize("SKARAB_2S", None).await.unwrap();
    discos.end_schedule().await;
    discos.park().await;
    discos.set_shift(3).await.unwrap();
    let heard = backend.heard();
    assert_eq!(heard[0], "?set-configuration,SKARAB_2S\r\n");
    assert_eq!(heard[1], "?set-section,0,906.25,187.5,0,2,375,32768\r\n");
    assert_eq!(heard[7], "?set-section,6,906.25,187.5,3,2,375,32768\r\n");
    assert_eq!(
        heard[8..],
        [
            "?set-integration,40\r\n",
            "?cal-on\r\n",
            "?end-schedule\r\n",
            "?backend-park\r\n",
            "?set-shift,3\r\n"
        ]
    );
    assert_eq!(discos.inputs(), 14, "an S configuration keeps every input");
}

#[tokio::test]
async fn the_tsys_range_and_a_bandwidth_are_written_as_cpp_writes_doubles() {
    let (mut discos, backend) = driving(good, Component::Sardara).await;
    discos.initialize("SL00", Some(2300.0)).await.unwrap();
    discos.set_tsys_range(22235.08, 300.0);
    discos.read_total_power("total power").await;
    let heard = backend.heard();
    assert_eq!(heard[1], "?set-section,0,0,2300,0,0,4600,1024\r\n");
    assert_eq!(heard.last().unwrap(), "?get-tpi,22235.1,300\r\n");
}

#[tokio::test]
async fn a_configuration_discos_does_not_know_sends_nothing() {
    let (mut discos, backend) = driving(good, Component::Sardara).await;
    let problem = discos.initialize("SC00", None).await.unwrap_err();
    assert!(
        problem.why.contains("no configuration \"SC00\""),
        "{problem}"
    );
    assert!(
        problem.why.contains("SK77S"),
        "it lists the known ids: {problem}"
    );
    assert_eq!(discos.read_configuration().await, "SK77");
    assert_eq!(backend.heard(), ["?get-configuration\r\n"]);
}

fn refuses_get_tpi(request: &str) -> Vec<u8> {
    if request.starts_with("?get-tpi") {
        b"!get-tpi,fail,get-tpi takes no arguments\r\n".to_vec()
    } else {
        good(request)
    }
}

#[tokio::test]
async fn a_refused_tsys_range_is_logged_and_the_measurement_is_empty() {
    let (mut discos, _backend) = driving(refuses_get_tpi, Component::Sardara).await;
    discos.initialize("SK00", None).await.unwrap();
    discos.measure_system_temperature().await;
    let problems = discos.problems();
    assert_eq!(problems.len(), 3, "{problems:?}");
    let problem = &problems[0];
    assert_eq!(problem.requirement, Some("tsys-range"));
    assert!(!problem.stops);
    assert!(
        problem.logged.starts_with("BACKEND_SARDARA_GET-TPI ERROR"),
        "{problem}"
    );
    assert!(problem.logged.contains("reason \"get-tpi\""), "{problem}");
    assert!(
        problem
            .logged
            .contains("on BackendsErrors::BackendFailExImpl"),
        "{problem}"
    );
    assert!(discos.readings().iter().all(|r| r.values.is_empty()));
}

fn two_values(request: &str) -> Vec<u8> {
    if request.starts_with("?get-tpi") {
        b"!get-tpi,ok,1.5,abc\r\n".to_vec()
    } else {
        good(request)
    }
}

#[tokio::test]
async fn too_few_values_leave_inputs_unset_and_a_word_is_read_as_zero() {
    let (mut discos, _backend) = driving(two_values, Component::Sardara).await;
    discos.initialize("SK77", None).await.unwrap();
    let reading = discos.read_total_power("total power").await;
    assert_eq!(reading.values, [1.5, 0.0]);
    assert!(!reading.complete);
    let problems = discos.problems();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].why.contains("\"abc\""), "{}", problems[0]);
    assert!(
        problems[1]
            .why
            .contains("DISCOS reads 14, one per input of SK77"),
        "{}",
        problems[1]
    );
    assert!(
        problems
            .iter()
            .all(|p| p.requirement == Some("one-value-per-input"))
    );
}

fn bare_lf(request: &str) -> Vec<u8> {
    let mut reply = good(request);
    if request == "?set-integration,40" || request == "?status" {
        reply.remove(reply.len() - 2);
    }
    if request == "?status" {
        reply = b"!status,ok,1700000000.0,ok,1\n".to_vec();
    }
    reply
}

#[tokio::test]
async fn a_bare_lf_costs_a_real_character() {
    let (mut discos, _backend) = driving(bare_lf, Component::Sardara).await;
    let problem = discos.initialize("SK00", None).await.unwrap_err();
    assert_eq!(problem.requirement, Some("crlf"));
    assert!(problem.stops);
    assert!(problem.logged.contains("invalid reply code"), "{problem}");
    assert!(
        problem.reply.as_deref().unwrap().contains("bare LF"),
        "{problem}"
    );
    // A status that loses its acquiring digit parses: DISCOS reads 0.
    assert_eq!(discos.read_status().await, Some(0.0));
    let misread = discos
        .problems()
        .iter()
        .find(|p| p.request == "?status" && p.requirement == Some("crlf"))
        .unwrap_or_else(|| panic!("{:?}", discos.problems()))
        .clone();
    assert!(misread.why.contains("'1'"), "{misread}");
    assert!(!misread.stops);
}

fn reasonless_stop(request: &str) -> Vec<u8> {
    if request == "?stop" {
        b"!stop,fail\r\n".to_vec()
    } else {
        good(request)
    }
}

#[tokio::test]
async fn a_second_stop_may_be_refused_but_with_a_reason() {
    let (mut discos, _backend) = driving(
        |request| {
            if request == "?stop" {
                b"!stop,fail,not acquiring\r\n".to_vec()
            } else {
                good(request)
            }
        },
        Component::Sardara,
    )
    .await;
    discos.terminate().await;
    assert_eq!(discos.problems(), []);
    let (mut discos, _backend) = driving(reasonless_stop, Component::Sardara).await;
    discos.terminate().await;
    let problem = &discos.problems()[0];
    assert_eq!(problem.requirement, Some("reason-given"));
    assert!(
        problem.logged.contains("cannot access command argument"),
        "{problem}"
    );
    // At a subscan's end the same stop fails the scan.
    let problem = discos.run_scan(1).await.unwrap_err();
    assert!(problem.stops);
    assert_eq!(problem.request, "?stop");
}

fn twice(request: &str) -> Vec<u8> {
    let reply = good(request);
    if request.starts_with("?set-configuration") {
        [reply.clone(), reply].concat()
    } else {
        reply
    }
}

#[tokio::test]
async fn a_second_reply_is_read_as_the_next_requests() {
    let (mut discos, _backend) = driving(twice, Component::Sardara).await;
    // The sections' failures are logged; set-integration reads the
    // reply to the last section, and fails the procedure.
    let problem = discos.initialize("SK00", None).await.unwrap_err();
    assert_eq!(problem.request, "?set-integration,40");
    let first = &discos.problems()[0];
    assert_eq!(first.request, "?set-section,0,0,1500,0,0,3000,1024");
    assert_eq!(first.requirement, Some("one-reply"));
    assert!(first.why.contains("a second reply"), "{first}");
    assert!(first.logged.contains("ReplyNotValid"), "{first}");
    // The next reply is one request late too: the same cause.
    assert_eq!(discos.problems()[1].requirement, Some("one-reply"));
}

fn long_tpi(request: &str) -> Vec<u8> {
    if request.starts_with("?get-tpi") {
        let values = vec!["1.2345678901234567"; 27].join(",");
        format!("!get-tpi,ok,{values}\r\n").into_bytes()
    } else {
        good(request)
    }
}

#[tokio::test]
async fn a_reply_that_fills_the_buffer_is_one_discos_cannot_hold() {
    let (mut discos, _backend) = driving(long_tpi, Component::Sardara).await;
    discos.read_total_power("total power").await;
    let problem = &discos.problems()[0];
    assert_eq!(problem.requirement, Some("short-lines"));
    let length = long_tpi("?get-tpi,0,0").len();
    assert!(length >= wire::BUFFER);
    assert!(
        problem.why.contains(&format!("{length} bytes")),
        "{problem}"
    );
}

fn refuses_configuration(request: &str) -> Vec<u8> {
    if request.starts_with("?set-configuration") {
        b"!set-configuration,fail,cannot find configuration 'SK00'\r\n".to_vec()
    } else {
        good(request)
    }
}

#[tokio::test]
async fn a_refused_configuration_stops_sardara_and_skarab_goes_on_uninitialized() {
    let (mut discos, backend) = driving(refuses_configuration, Component::Sardara).await;
    let problem = discos.initialize("SK00", None).await.unwrap_err();
    assert_eq!(problem.requirement, Some("ids-as-written"));
    assert!(
        problem
            .logged
            .starts_with("BACKEND_SARDARA_INITIALIZATION ERROR, CONFIGURATION: SK00"),
        "{problem}"
    );
    assert!(problem.logged.contains("reason \"cannot\""), "{problem}");
    assert_eq!(backend.heard(), ["?set-configuration,SK00\r\n"]);

    let (mut discos, backend) = driving(refuses_configuration, Component::Skarab).await;
    discos.initialize("SKARAB_1", None).await.unwrap();
    assert_eq!(
        backend.heard(),
        [
            "?set-configuration,SKARAB_1\r\n",
            "?set-integration,40\r\n",
            "?cal-on\r\n"
        ],
        "no sections before a successful set-configuration"
    );
    assert!(!discos.problems()[0].stops);
    assert_eq!(discos.inputs(), 0);
}

fn odd_filename_replies(request: &str) -> Vec<u8> {
    if request.starts_with("?set-filename") && request.ends_with("_001.fits") {
        b"whatever\n".to_vec()
    } else if request.starts_with("?set-filename") {
        b"\n".to_vec()
    } else {
        good(request)
    }
}

#[tokio::test]
async fn the_file_names_reply_is_never_parsed_but_must_not_be_empty() {
    let (mut discos, _backend) = driving(odd_filename_replies, Component::Sardara).await;
    let problem = discos.run_scan(2).await.unwrap_err();
    assert!(problem.request.ends_with("_002.fits"), "{problem}");
    assert_eq!(problem.requirement, Some("crlf"));
    assert!(problem.logged.contains("ConnectionExImpl"), "{problem}");
    assert_eq!(discos.problems().len(), 1);
}

#[tokio::test]
async fn the_greeting_is_read_and_ignored() {
    let backend = Scripted::start(b"!version,1.0.1\n", good).await;
    let mut discos = Discos::connect(&backend.address, Component::Sardara)
        .await
        .unwrap();
    assert_eq!(
        discos.read_time().await.map(|t| t > 1_700_000_000),
        Some(true)
    );
    assert_eq!(discos.problems(), []);
}

#[tokio::test]
async fn a_time_in_ticks_is_no_unix_time() {
    let (mut discos, _backend) = driving(
        |request| {
            if request == "?time" {
                b"!time,ok,17953395590538408\r\n".to_vec()
            } else {
                good(request)
            }
        },
        Component::Skarab,
    )
    .await;
    assert_eq!(discos.read_time().await, Some(17_953_395_590_538_408));
    let problem = &discos.problems()[0];
    assert_eq!(problem.requirement, Some("unix-seconds"));
    assert!(!problem.stops);
}

#[test]
fn problems_say_what_was_sent_read_and_logged() {
    let problem = Problem {
        request: "?get-tpi,0,0".into(),
        reply: Some("!get-tpi,fail,no".into()),
        logged: "BACKEND_SARDARA_GET-TPI ERROR".into(),
        why: "the backend answered fail".into(),
        requirement: Some("tsys-range"),
        stops: false,
    };
    assert_eq!(
        problem.to_string(),
        "DISCOS sent ?get-tpi,0,0 and read !get-tpi,fail,no: it would have logged BACKEND_SARDARA_GET-TPI ERROR, and gone on\n    because the backend answered fail (requirement `tsys-range`)"
    );
}

#[test]
fn file_names_are_the_fits_writers() {
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_736_501_412);
    assert_eq!(fits_base(at), "20250110-093012-acceptance-3C286");
}

fn silent_on_get_tpi(request: &str) -> Vec<u8> {
    if request.starts_with("?get-tpi") {
        Vec::new()
    } else {
        good(request)
    }
}

#[tokio::test]
async fn a_reply_that_never_comes_is_waited_for_once_more_then_the_link_is_lost() {
    let backend = Scripted::start(b"!version,ok,1.4\r\n", silent_on_get_tpi).await;
    let options = ClientOptions {
        reply_timeout: Duration::from_millis(100),
        ..ClientOptions::default()
    };
    let mut discos = Discos::connect_with(&backend.address, Component::Sardara, options)
        .await
        .unwrap();
    discos.read_total_power("total power").await;
    discos.read_total_power("total power").await;
    let problems = discos.problems();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(
        problems[0].logged.contains("TimeoutExImpl"),
        "{}",
        problems[0]
    );
    assert!(
        problems[1].logged.contains("timeout expired"),
        "{}",
        problems[1]
    );
    assert!(problems.iter().all(|p| p.requirement == Some("one-reply")));
    assert_eq!(
        backend.heard(),
        ["?get-tpi,0,0\r\n"],
        "nothing more is sent"
    );
}

#[tokio::test]
async fn a_reply_cut_by_the_connections_end_is_the_connections_end() {
    let (mut discos, _backend) = driving(
        |request| {
            if request == "?set-integration,40" {
                b"!set-integration,ok".to_vec()
            } else {
                good(request)
            }
        },
        Component::Sardara,
    )
    .await;
    let problem = discos.set_integration(40).await.unwrap_err();
    assert_eq!(problem.requirement, Some("one-reply"));
    assert!(problem.logged.contains("ConnectionExImpl"), "{problem}");
    assert!(
        problem.reply.as_deref().unwrap().contains("cut"),
        "{problem}"
    );
}
