@proxy
Feature: The link to the backend changes what the backend said
  DISCOS reads a reply into a buffer of 512 bytes without checking its
  length, takes any code but ok as a failure, and goes on as if a command
  it was told failed had not been carried out. These scenarios make the
  link to the backend (a proxy in front of it) lengthen replies and turn
  them into refusals, the backend none the wiser. They are about the
  proxy, not the backend, and are tagged @proxy (see link_timing.feature).

  Background:
    Given a backend

  Scenario: A reply made longer than DISCOS's buffer
    Given the link to the backend makes the reply to "get-tpi" longer than 512 bytes
    And the backend is configured as "K2000"
    When the client asks for the total power
    Then the backend accepts it
    And the reply is longer than 512 bytes

  Scenario: The link refuses a configuration the backend never sees
    Given the link to the backend refuses every "set-configuration" before the backend sees it
    When the client sets the configuration to "K2000"
    Then the backend refuses it

  Scenario: The backend configures itself, and the client is told it did not
    Given the link to the backend turns every reply to "set-configuration" into a refusal
    When the client sets the configuration to "K2000"
    Then the backend refuses it
    And the configuration is "K2000"

  Scenario: A fault said as the command line says it, then lifted
    Given the link to the backend has the fault "fail on get-configuration requests"
    And the backend is configured as "K2000"
    When the client asks for the configuration
    Then the backend refuses it
    When the link to the backend behaves again
    And the client asks for the configuration
    Then the backend answers "!get-configuration,ok,K2000"
