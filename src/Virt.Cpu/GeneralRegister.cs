namespace Virt.Cpu;

/// <summary>The general-purpose registers, numbered as the x86 encoding numbers them.</summary>
public enum GeneralRegister
{
    /// <summary>RAX / EAX / AX.</summary>
    Rax,

    /// <summary>RCX / ECX / CX.</summary>
    Rcx,

    /// <summary>RDX / EDX / DX.</summary>
    Rdx,

    /// <summary>RBX / EBX / BX.</summary>
    Rbx,

    /// <summary>RSP / ESP / SP.</summary>
    Rsp,

    /// <summary>RBP / EBP / BP.</summary>
    Rbp,

    /// <summary>RSI / ESI / SI.</summary>
    Rsi,

    /// <summary>RDI / EDI / DI.</summary>
    Rdi,

    /// <summary>R8 (long mode only).</summary>
    R8,

    /// <summary>R9 (long mode only).</summary>
    R9,

    /// <summary>R10 (long mode only).</summary>
    R10,

    /// <summary>R11 (long mode only).</summary>
    R11,

    /// <summary>R12 (long mode only).</summary>
    R12,

    /// <summary>R13 (long mode only).</summary>
    R13,

    /// <summary>R14 (long mode only).</summary>
    R14,

    /// <summary>R15 (long mode only).</summary>
    R15,
}
