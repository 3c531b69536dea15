namespace Virt.Cpu.Simd;

/// <summary>The lane operations of the SSE arithmetic instructions (ADDPS ... MAXSD, SQRTPS ...).</summary>
internal enum SseOperation
{
    /// <summary>ADD.</summary>
    Add,

    /// <summary>SUB.</summary>
    Sub,

    /// <summary>MUL.</summary>
    Mul,

    /// <summary>DIV.</summary>
    Div,

    /// <summary>MIN.</summary>
    Min,

    /// <summary>MAX.</summary>
    Max,

    /// <summary>SQRT (of the source lane; the destination lane is not read).</summary>
    Sqrt,
}
