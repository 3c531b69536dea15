namespace Virt.Cpu.Simd;

/// <summary>Lane-wise application of <see cref="SseOperation"/> in one format.</summary>
internal static class SseLanes
{
    /// <summary>One lane of <paramref name="operation"/>: a op b (b alone for SQRT).</summary>
    public static ulong Apply<T>(SseOperation operation, ulong a, ulong b, uint mxcsr, ref uint flags)
        where T : struct, ISseFormat => operation switch
        {
            SseOperation.Add => SseFloat<T>.Add(a, b, mxcsr, ref flags),
            SseOperation.Sub => SseFloat<T>.Sub(a, b, mxcsr, ref flags),
            SseOperation.Mul => SseFloat<T>.Mul(a, b, mxcsr, ref flags),
            SseOperation.Div => SseFloat<T>.Div(a, b, mxcsr, ref flags),
            SseOperation.Min => SseFloat<T>.Min(a, b, mxcsr, ref flags),
            SseOperation.Max => SseFloat<T>.Max(a, b, mxcsr, ref flags),
            _ => SseFloat<T>.Sqrt(b, mxcsr, ref flags),
        };
}
