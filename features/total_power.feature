Feature: Total power
  Total power is what a backend measures: one value per active section,
  read many times a second during a scan (get-tpi), and the same with the
  inputs terminated, the zero level (get-tp0).

  Background:
    Given a backend

  Scenario: Total power has one value per section
    Given the backend is configured as "K2000"
    When the client sends "get-tpi"
    Then the reply has 2 values between 0 and 100

  Scenario: The zero level is zero on every section
    Given the backend is configured as "K2000"
    When the client sends "get-tp0"
    Then the client receives "!get-tp0,ok,0,0"

  Scenario: Reading total power takes no arguments
    When the client sends "get-tpi,0"
    Then the reply is fail
    And the reply says "get-tpi takes no arguments"

  Scenario: Reading the zero level takes no arguments
    When the client sends "get-tp0,0"
    Then the reply is fail
    And the reply says "get-tp0 takes no arguments"
