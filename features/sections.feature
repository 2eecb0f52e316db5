Feature: Sections
  A section is one slice of the band the backend processes: its start
  frequency and bandwidth (MHz), the feed it takes, its mode (DISCOS sends
  the polarisation: 0 left, 1 right, 2 full Stokes), its sample rate (MHz)
  and its number of bins. DISCOS sets every section before a scan, all seven
  fields written as its C++ streams write numbers (1500, 187.5, 1e+06), and
  goes on without a word if one is refused. A field written "*" is left as
  it is. How many sections a backend has, and its widest bandwidth, are its
  own: the simulator has 14 sections of at most 2300 MHz.

  Background:
    Given a backend

  @must:set-section
  Scenario: A section can be set as DISCOS sets it
    When the client sends "set-section,0,0,1500,0,0,3000,1024"
    Then the backend accepts it
    When the client sends "set-section,1,906.25,187.5,0,1,375,1024"
    Then the backend accepts it

  @must:set-section
  Scenario: Numbers are read as DISCOS writes them, an exponent included
    When the client sends "set-section,0,2.5e-05,1500,0,0,3000,1024"
    Then the backend accepts it

  @must:set-section
  Scenario: Every field of a section can be set
    When the client sets section 0 to:
      | start frequency | bandwidth | feed | mode   | sample rate | bins |
      | 100.5           | 1000      | 0    | stokes | 2000        | 1024 |
    Then the backend accepts it

  @should:section-stars
  Scenario: Fields left out are left as they are
    When the client sets section 0 to:
      | bandwidth | bins |
      | 500       | 2048 |
    Then the backend accepts it

  @should:hardware-limits
  Scenario Outline: A section that does not exist is refused (<section>: <why>)
    When the client sets section <section> to:
      | bandwidth |
      | 500       |
    Then the backend refuses it

    Examples:
      | section    | why                          |
      | -1         | sections are numbered from 0 |
      | 2147483647 | no backend has that many     |

  @should:hardware-limits
  Scenario: A bandwidth wider than any backend's is refused
    When the client sets the bandwidth of section 0 to "1000000000"
    Then the backend refuses it

  @should:fixed-phrases
  Scenario: A section needs all seven fields, and says so
    When the client sends "set-section,0,100,1000"
    Then the backend refuses it, saying "set-section needs 7 arguments"

  @should:extra-arguments
  Scenario: A section with an eighth field is refused
    When the client sends "set-section,0,*,*,*,*,*,*,*"
    Then the backend refuses it

  @should:fixed-phrases
  Scenario: A section number must be a whole number
    When the client sets section x to:
      | bins |
      | 1024 |
    Then the backend refuses it, saying "wrong parameter format"

  @should:fixed-phrases
  Scenario Outline: Every field must have its type, or the request is refused, saying so (<field>: <value>)
    When the client sets the <field> of section 0 to "<value>"
    Then the backend refuses it, saying "wrong parameter format"

    Examples:
      | field           | value |
      | start frequency | low   |
      | bandwidth       | wide  |
      | feed            | 1.5   |
      | sample rate     | fast  |
      | bins            | many  |

  @simulator
  Scenario: The simulator's last section is number 13, as SK77's is
    When the client sets section 13 to:
      | bins |
      | 1024 |
    Then the backend accepts it
    When the client sets section 14 to:
      | bins |
      | 1024 |
    Then the backend refuses it, saying "section 14 is beyond the maximum: sections go from 0 to 13"

  @simulator
  Scenario: A bandwidth above the simulator's 2300 MHz is refused, saying so
    When the client sends "set-section,0,0,2300,0,0,4600,1024"
    Then the backend accepts it
    When the client sets the bandwidth of section 0 to "2400"
    Then the backend refuses it, saying "bandwidth 2400 MHz is above the maximum of 2300 MHz"
