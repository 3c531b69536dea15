namespace Virt.Devices;

/// <summary>Where an 8254 counter is in its load/count cycle.</summary>
internal enum Pit8254CounterPhase
{
    /// <summary>No count to run (after a control word, or mode 0 between the two bytes of a count): the counting element is frozen.</summary>
    Idle = 0,

    /// <summary>A count is transferred from CR to CE on the clock tick <c>LoadTick</c>.</summary>
    WaitingLoad = 1,

    /// <summary>A count is written, waiting for a gate rising edge (modes 1 and 5; modes 2 and 3 while the gate is low).</summary>
    WaitingTrigger = 2,

    /// <summary>Counting from <c>AnchorTick</c> with the dynamics fields valid at that tick.</summary>
    Counting = 3,
}
