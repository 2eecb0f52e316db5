@browser @serial
Feature: The web console
  An operator at the telescope, or a backend author at a desk, talks to a
  backend from a web page: type a line, press send, read the answer. The page
  is a real browser's, so what it shows is what the operator would see; each
  request and its reply appear as they happen, in order.

  @should:version-reply
  Scenario: The operator asks the backend its version
    Given the user opens the console
    When the user enters "version"
    And the user hits "send"
    Then the user sees "!version,ok,1.4"
    And the page shows 1 exchange

  @must:ids-as-written
  Scenario: A configuration set from the page is read back from the page
    Given the user opens the console
    When the user enters "set-configuration,K2000"
    And the user hits "send"
    Then the user sees "!set-configuration,ok"
    When the user enters "get-configuration"
    And the user hits "send"
    Then the user sees "!get-configuration,ok,K2000"
    And the page shows 2 exchanges

  @should:malformed-lines
  Scenario: A malformed line gets the backend's own answer, rejecting it as invalid
    Given the user opens the console
    When the user enters "set configuration"
    And the user hits "send"
    Then the user sees "invalid"
    And the page shows 1 exchange

  @must:shared-state
  Scenario: Two operators see the state the other set
    Given the users "Anna" and "Bruno" open the console
    When "Anna" enters "set-configuration,K2000"
    And "Anna" hits "send"
    Then "Anna" sees "!set-configuration,ok"
    When "Bruno" enters "get-configuration"
    And "Bruno" hits "send"
    Then "Bruno" sees "!get-configuration,ok,K2000"

  @must:shared-state
  Scenario: The page shows what a protocol client did to the shared state
    Given the user opens the console
    When the client sets the configuration to "K2000"
    And the user enters "get-configuration"
    And the user hits "send"
    Then the user sees "!get-configuration,ok,K2000"

  # It stops the backend, and checks the console, not the backend: it is
  # about this project's own tools.
  @fresh @simulator
  Scenario: A backend that goes away is shown, not hidden
    Given the user opens the console
    When the backend stops
    Then the user sees "backend closed the connection"
