@proxy
Feature: DISCOS through a link that misbehaves
  DISCOS reads every reply a byte at a time up to its line feed, and waits
  100 seconds for it (Skarab 900), so a reply that comes late, in pieces of
  one byte, or in one piece with the next, is still read whole. These
  scenarios put the link to the backend (a proxy in front of it) between
  DISCOS and the backend and check that DISCOS, as the actor reads
  replies, notices nothing wrong. They are about the proxy, not the
  backend, and are tagged @proxy (see link_timing.feature).

  Background:
    Given a backend

  Scenario: DISCOS initializes and runs a scan through replies cut into single bytes
    Given the link to the backend cuts every reply into pieces of 1 byte, 1 millisecond apart
    When DISCOS initializes the backend as "SK00"
    And DISCOS runs a scan of 1 subscan
    And DISCOS asks for the status
    Then DISCOS sees the backend not acquiring
    And DISCOS saw no error

  Scenario: DISCOS runs a scan through a link that holds every reply back
    Given the link to the backend delays every reply by 300 milliseconds
    When DISCOS initializes the backend as "SK00"
    And DISCOS runs a scan of 2 subscans
    Then DISCOS saw no error

  Scenario: DISCOS reads replies that arrive merged with the greeting
    Given the link to the backend merges every 2 replies into one piece
    When DISCOS asks for the status
    Then DISCOS sees the backend not acquiring
    And DISCOS saw no error
