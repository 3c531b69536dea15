namespace Virt.Fuzz;

/// <summary>The CPU mode a fuzzed guest runs its generated code in (set up by <see cref="GuestEnvironment"/>).</summary>
public enum FuzzMode
{
    /// <summary>Real mode: CS:IP = 1000:0000, the IVT at 0 points at small handlers.</summary>
    RealMode,

    /// <summary>16-bit protected mode at CPL 0 (a 16-bit code segment based at the code), no paging.</summary>
    Protected16,

    /// <summary>16-bit protected mode at CPL 0 with 32-bit paging.</summary>
    Protected16Paging,

    /// <summary>32-bit flat protected mode at CPL 0, no paging.</summary>
    Protected32,

    /// <summary>32-bit flat protected mode at CPL 0 with 32-bit paging.</summary>
    Protected32Paging,

    /// <summary>32-bit flat protected mode at CPL 0 with PAE paging.</summary>
    Pae,

    /// <summary>32-bit flat protected mode at CPL 3 with paging (system pages supervisor-only), entered by IRETD.</summary>
    Ring3,

    /// <summary>Virtual-8086 mode with paging, entered by IRETD from a ring-0 monitor (random VME and IOPL).</summary>
    Virtual8086,
}
