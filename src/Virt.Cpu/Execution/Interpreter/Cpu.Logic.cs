using System.Runtime.CompilerServices;
using Virt.Cpu.Decoding;

namespace Virt.Cpu;

/// <summary>Integer logic: NOT here; AND, OR, XOR and TEST are operations in Execution/Interpreter/AluOperations.cs.</summary>
public sealed partial class Cpu
{

    private void ExecuteNot(ref DecodedInstruction d)
    {
        int size = d.OpSize;
        ulong dst = ReadDestination(ref d, size, out ulong ea);
        if (!_faulted)
        {
            WriteDestination(ref d, size, ea, ~dst);
        }
    }
}
