Feature: DISCOS drives the backend
  DISCOS, the control system of the Italian radio telescopes, drives a
  backend through one of its components: Sardara (by default) or Skarab.
  In these scenarios DISCOS itself is the client: it sends what its
  component sends, in the order an observation sends it, and reads every
  reply as its own library reads it — up to the line feed, the character
  before it dropped as the carriage return, the code read strictly, a
  refusal's reason needed, as many values as the configuration has
  inputs. A scenario fails where DISCOS would have logged an error, failed
  the observation, or silently misread a reply, and says which.

  The scenarios that need the configurations of DISCOS's own tables (SK77,
  SKARAB_1…) are tagged @sardara or @skarab: they run against a backend
  that plays that role (--profile sardara, --profile skarab).

  Background:
    Given a backend

  @must:greeting
  Scenario: DISCOS connects and reads the backend's greeting
    When DISCOS connects to the backend
    Then DISCOS saw no error

  @must:crlf
  Scenario: DISCOS reads every reply to its last character
    Given the backend is configured as "K2000"
    When DISCOS asks for the status
    And DISCOS asks for the time
    And DISCOS measures the system temperature
    Then DISCOS reads the configuration "K2000"
    And DISCOS saw no error

  @must:code-first
  Scenario: DISCOS finds the code right after the name of every reply of a scan
    Given the backend is configured as "K2000"
    When DISCOS runs a scan of 1 subscan
    And DISCOS reads the RMS
    Then DISCOS saw no error

  @must:same-name
  Scenario: DISCOS finds every reply named as its request
    Given the backend is configured as "K2000"
    When DISCOS asks for the time
    And DISCOS reads the total power
    And DISCOS reads the RMS
    And DISCOS asks for the status
    Then DISCOS reads the configuration "K2000"
    And DISCOS saw no error

  @must:tsys-range
  Scenario: DISCOS measures the system temperature with its Tsys range
    Given the backend is configured as "K2000"
    When DISCOS measures the system temperature
    Then DISCOS saw no error

  @must:tsys-range
  Scenario: DISCOS measures over a Tsys range the operator set
    Given the backend is configured as "K2000"
    And the operator sets DISCOS's Tsys range to 22235.08 MHz with a bandwidth of 300 MHz
    When DISCOS measures the system temperature
    Then DISCOS saw no error

  @must:get-rms
  Scenario: DISCOS reads the RMS
    Given the backend is configured as "K2000"
    When DISCOS reads the RMS
    Then DISCOS saw no error

  @must:idle-stop
  Scenario: DISCOS ends every scan with a second stop, when nothing acquires
    Given the backend is configured as "K2000"
    When DISCOS runs a scan of 2 subscans
    Then DISCOS saw no error
    And the backend is not acquiring

  @must:start-stop
  Scenario: DISCOS runs scan after scan, each subscan started, stopped and named
    Given the backend is configured as "K2000"
    When DISCOS runs 3 scans of 2 subscans
    Then DISCOS saw no error
    And the backend is not acquiring

  @must:acquiring-flag
  Scenario: DISCOS reads from the status whether the backend acquires
    Given the backend is configured as "K2000"
    Then DISCOS sees the backend not acquiring
    When the acquisition is started
    Then DISCOS sees the backend acquiring
    When the acquisition is stopped
    Then DISCOS sees the backend not acquiring

  @must:unix-seconds
  Scenario: DISCOS reads the backend's clock
    Then DISCOS reads the backend's clock as Unix seconds

  @sardara @must:one-value-per-input
  Scenario Outline: A whole observation with Sardara's <configuration>, <inputs> inputs
    Given DISCOS drives the backend as Sardara
    When DISCOS initializes the backend as "<configuration>"
    And DISCOS measures the system temperature
    Then DISCOS reads <inputs> total power values
    When DISCOS runs 2 scans of 2 subscans
    And DISCOS reads the RMS
    Then DISCOS reads <inputs> RMS values
    When DISCOS ends the schedule
    Then DISCOS saw no error

    Examples:
      | configuration | inputs |
      | SK00          | 2      |
      | SK00S         | 2      |
      | SK06          | 4      |
      | SK77          | 14     |
      | SK77S         | 14     |
      | SP00          | 2      |

  @sardara @must:short-lines
  Scenario: Sardara's 14 values of total power and of RMS fit in DISCOS's 512-byte buffer
    Given DISCOS has initialized the backend as "SK77"
    When DISCOS measures the system temperature
    And DISCOS reads the RMS
    Then DISCOS reads 14 RMS values
    And DISCOS saw no error

  @sardara @must:ids-as-written
  Scenario: Sardara reads back the configuration it set, as written
    Given DISCOS has initialized the backend as "SK77S"
    Then DISCOS reads the configuration "SK77S"

  @sardara @must:set-section
  Scenario: Sardara's L band at its widest, 2300 MHz
    When DISCOS initializes the backend as "SL00" with a bandwidth of 2300 MHz
    Then DISCOS saw no error

  @sardara @must:set-enable
  Scenario: Sardara nods between two feeds, and reads four inputs
    Given DISCOS has initialized the backend as "SK77"
    When DISCOS nods between the feeds 0 and 3
    And DISCOS measures the system temperature
    Then DISCOS reads 4 total power values
    And DISCOS saw no error

  @skarab @must:one-value-per-input
  Scenario Outline: A whole observation with Skarab's <configuration>
    Given DISCOS drives the backend as Skarab
    When DISCOS initializes the backend as "<configuration>"
    And DISCOS measures the system temperature
    Then DISCOS reads 14 total power values
    When DISCOS runs 2 scans of 2 subscans
    And DISCOS ends the schedule
    Then DISCOS saw no error

    Examples:
      | configuration |
      | SKARAB_1      |
      | SKARAB_2S     |
      | SKARAB_7      |

  @skarab @must:set-shift
  Scenario: The operator sets Skarab's shift and parks the backend
    Given DISCOS drives the backend as Skarab
    And DISCOS has initialized the backend as "SKARAB_1"
    When DISCOS sets the shift to 3
    And DISCOS parks the backend
    Then DISCOS saw no error
