Feature: Verified teardown
  After every scenario the test closes its clients, shuts the backend down
  and checks that nothing was left behind: a connection still open, a task
  still running, a process still alive. A scenario that leaks fails, naming
  the leak, so the next scenario never inherits a mess.

  Scenario: A scenario that closes everything passes its teardown
    Given a backend
    And the clients "A" and "B" are connected
    When client "A" sends "status"
    Then the reply is ok

  @deliberate-leak
  Scenario: A connection leaked on purpose fails the teardown
    Given a backend
    When a connection is leaked on purpose
