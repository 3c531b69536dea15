using Virt.Memory;
using Xunit;
using H = Virt.Cpu.Tests.ProtectedMode.ProtectedModeHarness;

namespace Virt.Cpu.Tests.ProtectedMode;

/// <summary>Random byte streams in 32-bit protected mode, with and without paging, never throw a .NET exception and never hang.</summary>
public sealed class ProtectedModeRobustnessTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Random_code_in_protected_mode_never_throws_or_hangs(bool paging)
    {
        var random = new Random(paging ? 4321 : 1234);
        byte[] code = new byte[4096];
        for (int round = 0; round < 150; round++)
        {
            var m = new H();
            for (int vector = 0; vector < 256; vector++)
            {
                m.InstallGate(vector, type: random.Next(2) == 0 ? 0xE : 0xF, dpl: random.Next(4));
                if (random.Next(2) == 0)
                {
                    // IRETD instead of HLT: execution goes on (sometimes with an error code misread as EIP).
                    m.Memory.WriteByte(new PhysicalAddress(H.HandlerAddress(vector)), 0xCF);
                }
            }

            if (paging)
            {
                // Identity-map the 1 MiB of RAM through one page table with random flag bits (always present).
                m.Memory.WriteDoubleWord(new PhysicalAddress(0x60000), 0x61000 | 7);
                for (uint page = 0; page < 256; page++)
                {
                    m.Memory.WriteDoubleWord(new PhysicalAddress(0x61000 + (page * 4)), (page << 12) | (uint)random.Next(8) | 1);
                }
            }

            random.NextBytes(code);
            m.Load(a => a.nop());
            m.Memory.Write(new PhysicalAddress(H.CodeAddress), code);
            m.Cpu.FlushDecodeCache();
            for (int r = 0; r < 8; r++)
            {
                m.Cpu.SetRegister((GeneralRegister)r, (ulong)random.Next());
            }

            m.Cpu.SetRegister(GeneralRegister.Rsp, H.StackTop - (uint)random.Next(0x100));
            if (paging)
            {
                m.Cpu.Cr3 = 0x60000;
                m.Cpu.Cr0 |= 0x8000_0000;
            }

            for (int slice = 0; slice < 20 && !m.Cpu.IsShutdown && !m.Cpu.IsHalted; slice++)
            {
                m.Cpu.Run(50);
            }
        }
    }
}
