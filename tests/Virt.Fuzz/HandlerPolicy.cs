namespace Virt.Fuzz;

/// <summary>What the interrupt and exception handlers of a fuzzed guest do (chosen per guest from its seed).</summary>
public enum HandlerPolicy
{
    /// <summary>Drop the error code, advance the return address by one byte and IRET: the guest keeps executing.</summary>
    Skip,

    /// <summary>Drop the error code and IRET to where the exception points (faults repeat until the budget ends).</summary>
    Return,

    /// <summary>HLT: the first exception ends the guest.</summary>
    Halt,

    /// <summary>A tiny IDT limit and not-present gates: faults cascade to a double fault and a triple fault.</summary>
    BrokenIdt,
}
