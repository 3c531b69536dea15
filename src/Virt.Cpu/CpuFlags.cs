namespace Virt.Cpu;

/// <summary>The bits of EFLAGS (Intel SDM Vol. 1, 3.4.3).</summary>
[Flags]
public enum CpuFlags : uint
{
    /// <summary>No flag.</summary>
    None = 0,

    /// <summary>Carry.</summary>
    Carry = 1 << 0,

    /// <summary>Bit 1, always set.</summary>
    Reserved1 = 1 << 1,

    /// <summary>Parity (of the low byte of the result).</summary>
    Parity = 1 << 2,

    /// <summary>Auxiliary carry (out of bit 3).</summary>
    Auxiliary = 1 << 4,

    /// <summary>Zero.</summary>
    Zero = 1 << 6,

    /// <summary>Sign.</summary>
    Sign = 1 << 7,

    /// <summary>Trap (single step).</summary>
    Trap = 1 << 8,

    /// <summary>Interrupt enable.</summary>
    Interrupt = 1 << 9,

    /// <summary>Direction.</summary>
    Direction = 1 << 10,

    /// <summary>Overflow.</summary>
    Overflow = 1 << 11,

    /// <summary>I/O privilege level (two bits).</summary>
    IoPrivilegeLevel = 3 << 12,

    /// <summary>Nested task.</summary>
    NestedTask = 1 << 14,

    /// <summary>Resume.</summary>
    Resume = 1 << 16,

    /// <summary>Virtual-8086 mode.</summary>
    Virtual8086 = 1 << 17,

    /// <summary>Alignment check.</summary>
    AlignmentCheck = 1 << 18,

    /// <summary>Virtual interrupt flag.</summary>
    VirtualInterrupt = 1 << 19,

    /// <summary>Virtual interrupt pending.</summary>
    VirtualInterruptPending = 1 << 20,

    /// <summary>CPUID available (software can toggle it).</summary>
    Id = 1 << 21,
}
